//! The app events: what every Freshworks app may handle whatever its product (seed 000,
//! REFERENCE §1), named once here so that no other place spells them.

use std::fmt;

/// An event of the app itself rather than of a product: its lifecycle, a request to its
/// target URL, a schedule firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppEvent {
    /// `onAppInstall`: may refuse the install.
    Install,
    /// `onAppUninstall`: may refuse the uninstall.
    Uninstall,
    /// `afterAppUpdate`: may refuse the update, which is then reverted.
    AfterUpdate,
    /// `onExternalEvent`: a request to one of the installation's target URLs.
    External,
    /// `onScheduledEvent`: a `$schedule` entry fired.
    Scheduled,
}

impl AppEvent {
    pub const ALL: [AppEvent; 5] = [
        AppEvent::Install,
        AppEvent::Uninstall,
        AppEvent::AfterUpdate,
        AppEvent::External,
        AppEvent::Scheduled,
    ];
    /// The events of an app's lifecycle, which its setup handlers answer.
    pub const LIFECYCLE: [AppEvent; 3] = [
        AppEvent::Install,
        AppEvent::Uninstall,
        AppEvent::AfterUpdate,
    ];

    /// The name apps declare and handlers receive as `event`. A `const fn`, so that the
    /// catalogue's name constants are made of it.
    pub const fn name(self) -> &'static str {
        match self {
            AppEvent::Install => "onAppInstall",
            AppEvent::Uninstall => "onAppUninstall",
            AppEvent::AfterUpdate => "afterAppUpdate",
            AppEvent::External => "onExternalEvent",
            AppEvent::Scheduled => "onScheduledEvent",
        }
    }

    /// The app event of this exact name (names are case-sensitive, as on Freshworks).
    pub fn parse(name: &str) -> Option<AppEvent> {
        AppEvent::ALL.into_iter().find(|event| event.name() == name)
    }
}

impl fmt::Display for AppEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_exactly() {
        for event in AppEvent::ALL {
            assert_eq!(AppEvent::parse(event.name()), Some(event));
        }
        for other in ["onappinstall", "onTicketCreate", "onAppUpdate", ""] {
            assert_eq!(AppEvent::parse(other), None, "{other:?}");
        }
    }
}
