//! The event catalogue: which events an app package may declare, as plain static data.
//!
//! Three families, each checked by the package validator against these lists:
//! - App events (`onAppInstall`, `onAppUninstall`, `afterAppUpdate`, `onExternalEvent`,
//!   `onScheduledEvent`), which every Freshworks app may declare whatever its product
//!   (seed 000 and REFERENCE §1).
//! - Product events, per platform 2.x product and per platform 3.x module (REFERENCE §2).
//! - Zoho Desk webhook events and the subscription options each takes (seed 004 and
//!   REFERENCE §5, "Events and their filters").
//!
//! Where the Freshworks facts come from (each list names its own source):
//! - seed `001_9f6eb6383d6a3eee.txt`: twelve Freshsales events (contact, deal, sales
//!   account, custom module, appointment, task × create/update), which omni apps register
//!   under both `freshsales` and `freshworks_crm`;
//! - REFERENCE §2: the products, the 3.x module layout, and Freshteam's events;
//! - the Freshworks developer documentation's product-event pages (platform 2.3, under
//!   `docs/app-sdk/v2.3/<product>/serverless-apps/product-events/`) and its platform 3.0
//!   module pages (`docs/app-sdk/v3.0/<module>/serverless-apps/product-events/`), which
//!   list each module's events under "Product-specific events".
//!
//! A platform 3.x module takes a share of its product's 2.x events, so a product's list
//! here holds its modules' lists (a test checks that every module event is an event of
//! each product the module serves). The lists hold only names a source shows:
//! a name missing here is unconfirmed, not known to be wrong, so grow a list when a source
//! shows a new name rather than guessing.

use crate::event::AppEvent;

/// App-level events every app may declare, whatever its product ([`AppEvent::LIFECYCLE`]).
pub const LIFECYCLE_EVENTS: &[&str] = &[
    AppEvent::Install.name(),
    AppEvent::Uninstall.name(),
    AppEvent::AfterUpdate.name(),
];
/// The event a webhook to the app's target URL raises (seed 000).
pub const EXTERNAL_EVENT: &str = AppEvent::External.name();
/// The event a `$schedule` entry raises when it fires.
pub const SCHEDULED_EVENT: &str = AppEvent::Scheduled.name();

/// True for the lifecycle events, onExternalEvent and onScheduledEvent.
pub fn is_app_event(name: &str) -> bool {
    AppEvent::parse(name).is_some()
}

// ----- Platform 2.x products -----------------------------------------------------------

/// Freshdesk: the 2.3 product-event pages (ticket, conversation, contact, company, agent,
/// group, time entry, canned response), which are the same events the 3.0 modules
/// `support_ticket`, `support_contact`, `support_company`, `support_agent` and
/// `support_portal` list between them.
const FRESHDESK_EVENTS: &[&str] = &[
    // support_ticket
    "onTicketCreate",
    "onTicketUpdate",
    "onTicketDelete",
    "onTimeEntryCreate",
    "onTimeEntryUpdate",
    "onTimeEntryDelete",
    "onTicketFieldCreate",
    "onTicketFieldDelete",
    "onConversationCreate",
    "onConversationUpdate",
    "onConversationDelete",
    "onCannedResponseCreate",
    "onCannedResponseUpdate",
    "onCannedResponseDelete",
    // support_contact
    "onContactCreate",
    "onContactUpdate",
    "onContactDelete",
    // support_company
    "onCompanyCreate",
    "onCompanyUpdate",
    "onCompanyDelete",
    // support_agent
    "onAgentCreate",
    "onAgentUpdate",
    "onAgentDelete",
    "onAgentStatusCreate",
    "onAgentStatusUpdate",
    "onAgentStatusDelete",
    "onAgentAvailabilityUpdate",
    "onGroupCreate",
    "onGroupUpdate",
    "onGroupDelete",
    // support_portal: forums, solutions (knowledge base) and surveys
    "onTopicCreate",
    "onTopicUpdate",
    "onTopicDelete",
    "onForumCreate",
    "onForumUpdate",
    "onForumDelete",
    "onForumCategoryCreate",
    "onForumCategoryUpdate",
    "onForumCategoryDelete",
    "onPortalForumCategoryCreate",
    "onPortalForumCategoryDelete",
    "onArticleCreate",
    "onArticleUpdate",
    "onArticleDelete",
    "onPortalSolutionCategoryCreate",
    "onPortalSolutionCategoryDelete",
    "onFolderCreate",
    "onFolderUpdate",
    "onFolderDelete",
    "onSurveyCreate",
    "onSurveyUpdate",
    "onCategoryCreate",
    "onCategoryUpdate",
    "onCategoryDelete",
];

/// Freshservice: the 2.3 product-event pages (ticket, conversation, change, user), which
/// the 3.0 modules `service_ticket`, `service_change` and `service_user` list between
/// them (`service_asset` has no product events).
const FRESHSERVICE_EVENTS: &[&str] = &[
    "onTicketCreate",
    "onTicketUpdate",
    "onConversationCreate",
    "onChangeCreate",
    "onChangeUpdate",
    "onUserCreate",
    "onUserUpdate",
    "onUserDelete",
];

/// Freshsales Classic: seed 001's twelve, in the order it documents them, then the
/// leads of the 3.0 `lead` module ("Freshsales Classic" only), which the public omni
/// sample app declares under `freshsales`.
const FRESHSALES_EVENTS: &[&str] = &[
    "onContactCreate",
    "onContactUpdate",
    "onDealCreate",
    "onDealUpdate",
    "onSalesAccountCreate",
    "onSalesAccountUpdate",
    "onCustomModuleCreate",
    "onCustomModuleUpdate",
    "onAppointmentCreate",
    "onAppointmentUpdate",
    "onTaskCreate",
    "onTaskUpdate",
    "onLeadCreate",
    "onLeadUpdate",
];

/// Freshworks CRM (Freshsales Suite): seed 001's twelve first, as Freshsales', then the
/// documentation's Freshworks CRM product events (conversations, CPQ documents, products)
/// and the 3.0 Freshsales Suite modules `sales_activities` and `phone`. Leads are here
/// too: omni apps register the same names under both CRM products (seed 001), and a Suite
/// account with Classic's leads posts them as `freshworks_crm`.
const FRESHWORKS_CRM_EVENTS: &[&str] = &[
    "onContactCreate",
    "onContactUpdate",
    "onDealCreate",
    "onDealUpdate",
    "onSalesAccountCreate",
    "onSalesAccountUpdate",
    "onCustomModuleCreate",
    "onCustomModuleUpdate",
    "onAppointmentCreate",
    "onAppointmentUpdate",
    "onTaskCreate",
    "onTaskUpdate",
    "onLeadCreate",
    "onLeadUpdate",
    "onConversationCreate",
    "onConversationUpdate",
    "onSalesActivityCreate",
    "onSalesActivityUpdate",
    "onPhoneCallCreate",
    "onPhoneCallUpdate",
    "onCpqDocumentCreate",
    "onCpqDocumentUpdate",
    "onCpqDocumentDelete",
    "onProductCreate",
    "onProductUpdate",
];

/// Freshteam: REFERENCE §2.
const FRESHTEAM_EVENTS: &[&str] = &[
    "onEmployeeCreate",
    "onEmployeeUpdate",
    "onNewHireCreate",
    "onNewHireUpdate",
    "onJobPostingCreate",
    "onJobPostingUpdate",
    "onTimeOffCreate",
    "onTimeOffUpdate",
];

/// Freshchat: the 3.0 modules `chat_conversation` (conversations, messages, agent
/// activity) and `chat_user`.
const FRESHCHAT_EVENTS: &[&str] = &[
    "onConversationCreate",
    "onConversationUpdate",
    "onMessageCreate",
    "onAgentActivityCreate",
    "onUserCreate",
    "onUserUpdate",
];

/// Freshcaller: the 3.0 modules `call` and `caller_conversation` (calls) and
/// `caller_agent` (agents).
const FRESHCALLER_EVENTS: &[&str] = &["onCallCreate", "onCallUpdate", "onAgentUpdate"];

/// Every product with its events, in the order REFERENCE §2 lists the products.
static PRODUCT_EVENTS: &[(&str, &[&str])] = &[
    ("freshdesk", FRESHDESK_EVENTS),
    ("freshservice", FRESHSERVICE_EVENTS),
    ("freshsales", FRESHSALES_EVENTS),
    ("freshworks_crm", FRESHWORKS_CRM_EVENTS),
    ("freshteam", FRESHTEAM_EVENTS),
    ("freshchat", FRESHCHAT_EVENTS),
    ("freshcaller", FRESHCALLER_EVENTS),
];

/// The names in `PRODUCT_EVENTS`, kept as their own slice so `products()` can lend it out;
/// a test checks the two agree.
const PRODUCTS: &[&str] = &[
    "freshdesk",
    "freshservice",
    "freshsales",
    "freshworks_crm",
    "freshteam",
    "freshchat",
    "freshcaller",
];

/// The product events of a Freshworks product ("freshsales", "freshworks_crm", "freshdesk",
/// "freshservice", "freshteam", "freshchat", "freshcaller"), or None for an unknown product.
pub fn product_events(product: &str) -> Option<&'static [&'static str]> {
    lookup(PRODUCT_EVENTS, product)
}

/// Every product name known, in a stable order.
pub fn products() -> &'static [&'static str] {
    PRODUCTS
}

/// The Zoho Desk product, whose events are Zoho's webhook event types (`Ticket_Add`, …).
pub const ZOHO_DESK: &str = "zoho_desk";

/// The events a host product may post: a Freshworks product's product events, or Zoho
/// Desk's event types; `None` for an unknown product.
pub fn events_of(product: &str) -> Option<Vec<&'static str>> {
    match product {
        ZOHO_DESK => Some(ZOHO_EVENTS.iter().map(|event| event.name).collect()),
        other => product_events(other).map(<[&str]>::to_vec),
    }
}

// ----- Platform 3.x modules ------------------------------------------------------------
// Each list is its module page's "Product-specific events" (platform 3.0 documentation).

/// Freshdesk `support_ticket`.
const SUPPORT_TICKET_EVENTS: &[&str] = &[
    "onTicketCreate",
    "onTicketUpdate",
    "onTicketDelete",
    "onTimeEntryCreate",
    "onTimeEntryUpdate",
    "onTimeEntryDelete",
    "onTicketFieldCreate",
    "onTicketFieldDelete",
    "onConversationCreate",
    "onConversationUpdate",
    "onConversationDelete",
    "onCannedResponseCreate",
    "onCannedResponseUpdate",
    "onCannedResponseDelete",
];

/// Freshdesk `support_contact`.
const SUPPORT_CONTACT_EVENTS: &[&str] = &["onContactCreate", "onContactUpdate", "onContactDelete"];

/// Freshdesk `support_company`.
const SUPPORT_COMPANY_EVENTS: &[&str] = &["onCompanyCreate", "onCompanyUpdate", "onCompanyDelete"];

/// Freshdesk `support_agent` (agents, agent statuses, groups).
const SUPPORT_AGENT_EVENTS: &[&str] = &[
    "onAgentCreate",
    "onAgentUpdate",
    "onAgentDelete",
    "onAgentStatusCreate",
    "onAgentStatusDelete",
    "onAgentStatusUpdate",
    "onAgentAvailabilityUpdate",
    "onGroupCreate",
    "onGroupUpdate",
    "onGroupDelete",
];

/// Freshdesk `support_portal`: the portal's forums, solutions and surveys.
const SUPPORT_PORTAL_EVENTS: &[&str] = &[
    "onTopicCreate",
    "onTopicUpdate",
    "onTopicDelete",
    "onForumCreate",
    "onForumUpdate",
    "onForumDelete",
    "onForumCategoryCreate",
    "onForumCategoryUpdate",
    "onForumCategoryDelete",
    "onPortalForumCategoryCreate",
    "onPortalForumCategoryDelete",
    "onArticleCreate",
    "onArticleUpdate",
    "onArticleDelete",
    "onPortalSolutionCategoryCreate",
    "onPortalSolutionCategoryDelete",
    "onFolderCreate",
    "onFolderUpdate",
    "onFolderDelete",
    "onSurveyCreate",
    "onSurveyUpdate",
    "onCategoryCreate",
    "onCategoryUpdate",
    "onCategoryDelete",
];

/// Freshservice `service_ticket`.
const SERVICE_TICKET_EVENTS: &[&str] =
    &["onTicketCreate", "onTicketUpdate", "onConversationCreate"];

/// Freshservice `service_change`.
const SERVICE_CHANGE_EVENTS: &[&str] = &["onChangeCreate", "onChangeUpdate"];

/// Freshservice `service_user` (agents and requesters).
const SERVICE_USER_EVENTS: &[&str] = &["onUserCreate", "onUserUpdate", "onUserDelete"];

/// Freshsales `contact`, `deal`, `sales_account`, `lead` (Classic), `appointment`, `task`.
const CONTACT_EVENTS: &[&str] = &["onContactCreate", "onContactUpdate"];
const DEAL_EVENTS: &[&str] = &["onDealCreate", "onDealUpdate"];
const SALES_ACCOUNT_EVENTS: &[&str] = &["onSalesAccountCreate", "onSalesAccountUpdate"];
const LEAD_EVENTS: &[&str] = &["onLeadCreate", "onLeadUpdate"];
const APPOINTMENT_EVENTS: &[&str] = &["onAppointmentCreate", "onAppointmentUpdate"];
const TASK_EVENTS: &[&str] = &["onTaskCreate", "onTaskUpdate"];

/// Freshsales Suite `sales_activities`, `phone`, `cpq_document` and `product`.
const SALES_ACTIVITY_EVENTS: &[&str] = &["onSalesActivityCreate", "onSalesActivityUpdate"];
const PHONE_EVENTS: &[&str] = &["onPhoneCallCreate", "onPhoneCallUpdate"];
const CPQ_DOCUMENT_EVENTS: &[&str] = &[
    "onCpqDocumentCreate",
    "onCpqDocumentUpdate",
    "onCpqDocumentDelete",
];
const CRM_PRODUCT_EVENTS: &[&str] = &["onProductCreate", "onProductUpdate"];

/// Freshchat `chat_conversation` and `chat_user`.
const CHAT_CONVERSATION_EVENTS: &[&str] = &[
    "onConversationCreate",
    "onConversationUpdate",
    "onMessageCreate",
    "onAgentActivityCreate",
];
const CHAT_USER_EVENTS: &[&str] = &["onUserCreate", "onUserUpdate"];

/// Freshcaller `call` and `caller_conversation` (the same two call events), `caller_agent`.
const CALL_EVENTS: &[&str] = &["onCallCreate", "onCallUpdate"];
const CALLER_AGENT_EVENTS: &[&str] = &["onAgentUpdate"];

/// Every module with its product events, and the products it serves (whose events its
/// events are). `common` has none: app-setup, external and scheduled events are declared
/// there instead (REFERENCE §2), and `is_app_event` covers them. Modules whose pages list
/// no product event (`support_email`, `service_asset`) are known all the same, so that an
/// app placing its front end there is not refused.
static MODULES_TABLE: &[Module] = &[
    Module::new("common", &[], &[]),
    Module::new("support_ticket", SUPPORT_TICKET_EVENTS, FRESHDESK),
    Module::new("support_contact", SUPPORT_CONTACT_EVENTS, FRESHDESK),
    Module::new("support_company", SUPPORT_COMPANY_EVENTS, FRESHDESK),
    Module::new("support_agent", SUPPORT_AGENT_EVENTS, FRESHDESK),
    Module::new("support_portal", SUPPORT_PORTAL_EVENTS, FRESHDESK),
    Module::new("support_email", &[], FRESHDESK),
    Module::new("service_ticket", SERVICE_TICKET_EVENTS, FRESHSERVICE),
    Module::new("service_asset", &[], FRESHSERVICE),
    Module::new("service_change", SERVICE_CHANGE_EVENTS, FRESHSERVICE),
    Module::new("service_user", SERVICE_USER_EVENTS, FRESHSERVICE),
    Module::new("contact", CONTACT_EVENTS, CRM),
    Module::new("deal", DEAL_EVENTS, CRM),
    Module::new("sales_account", SALES_ACCOUNT_EVENTS, CRM),
    Module::new("lead", LEAD_EVENTS, CRM),
    Module::new("appointment", APPOINTMENT_EVENTS, CRM),
    Module::new("task", TASK_EVENTS, CRM),
    Module::new("sales_activities", SALES_ACTIVITY_EVENTS, SUITE),
    Module::new("phone", PHONE_EVENTS, SUITE),
    Module::new("cpq_document", CPQ_DOCUMENT_EVENTS, SUITE),
    Module::new("product", CRM_PRODUCT_EVENTS, SUITE),
    Module::new("chat_conversation", CHAT_CONVERSATION_EVENTS, FRESHCHAT),
    Module::new("chat_user", CHAT_USER_EVENTS, FRESHCHAT),
    Module::new("call", CALL_EVENTS, FRESHCALLER),
    Module::new("caller_conversation", CALL_EVENTS, FRESHCALLER),
    Module::new("caller_agent", CALLER_AGENT_EVENTS, FRESHCALLER),
];

const FRESHDESK: &[&str] = &["freshdesk"];
const FRESHSERVICE: &[&str] = &["freshservice"];
/// Both CRM products: the modules common to Freshsales Classic and the Suite.
const CRM: &[&str] = &["freshsales", "freshworks_crm"];
/// The Suite's own modules.
const SUITE: &[&str] = &["freshworks_crm"];
const FRESHCHAT: &[&str] = &["freshchat"];
const FRESHCALLER: &[&str] = &["freshcaller"];

/// A platform 3.x module: its product events and the products they come from.
struct Module {
    name: &'static str,
    events: &'static [&'static str],
    products: &'static [&'static str],
}

impl Module {
    const fn new(
        name: &'static str,
        events: &'static [&'static str],
        products: &'static [&'static str],
    ) -> Self {
        Module {
            name,
            events,
            products,
        }
    }
}

/// The names in `MODULES_TABLE`, kept as their own slice so `modules()` can lend it out;
/// a test checks the two agree.
const MODULES: &[&str] = &[
    "common",
    "support_ticket",
    "support_contact",
    "support_company",
    "support_agent",
    "support_portal",
    "support_email",
    "service_ticket",
    "service_asset",
    "service_change",
    "service_user",
    "contact",
    "deal",
    "sales_account",
    "lead",
    "appointment",
    "task",
    "sales_activities",
    "phone",
    "cpq_document",
    "product",
    "chat_conversation",
    "chat_user",
    "call",
    "caller_conversation",
    "caller_agent",
];

fn module(name: &str) -> Option<&'static Module> {
    MODULES_TABLE.iter().find(|module| module.name == name)
}

/// Platform 3.x modules (e.g. "support_ticket", "service_ticket", "deal", "contact", "common"...):
/// the product events a module may declare; "common" has none (it takes the app events).
pub fn module_events(name: &str) -> Option<&'static [&'static str]> {
    module(name).map(|module| module.events)
}

/// The products a platform 3.x module's events come from: an app declaring
/// `support_ticket` events gets Freshdesk's. `common` has no product events.
pub fn module_products(name: &str) -> &'static [&'static str] {
    module(name).map_or(&[], |module| module.products)
}

/// Every module name known, in a stable order (`common` first).
pub fn modules() -> &'static [&'static str] {
    MODULES
}

fn lookup(
    table: &'static [(&str, &'static [&'static str])],
    key: &str,
) -> Option<&'static [&'static str]> {
    table
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, events)| *events)
}

// ----- Zoho Desk webhooks --------------------------------------------------------------

/// A subscription option a Zoho Desk event may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZohoOption {
    /// An array of department ids. Extension webhooks should leave it out: Desk filters
    /// their events by the departments chosen in the extension's configuration (seed 004).
    DepartmentIds,
    /// Up to `ZOHO_MAX_UPDATE_FIELDS` field API names (Ticket_Update only).
    Fields,
    /// Ask Desk to send `prevState` with each event.
    IncludePrevState,
    /// `in` or `out` (Ticket_Thread_Add only); see `ZOHO_THREAD_DIRECTIONS`.
    Direction,
    /// The legacy singular `departmentId` key, which Zoho's schema still accepts beside
    /// `departmentIds`. It is a variant of its own, rather than an alias, so the catalogue
    /// says exactly which events take it: those whose schema lists it (Ticket_Add,
    /// Ticket_Update, Ticket_Thread_Add, Ticket_Comment_Add/_Update and IM_Session_Status).
    /// It always comes last in an event's options, after the documented filters.
    DepartmentId,
}

impl ZohoOption {
    /// Every option, in declaration order.
    pub const ALL: [ZohoOption; 5] = [
        ZohoOption::DepartmentIds,
        ZohoOption::Fields,
        ZohoOption::IncludePrevState,
        ZohoOption::Direction,
        ZohoOption::DepartmentId,
    ];

    /// The key the option has in a subscription object.
    pub fn key(self) -> &'static str {
        match self {
            ZohoOption::DepartmentIds => "departmentIds",
            ZohoOption::Fields => "fields",
            ZohoOption::IncludePrevState => "includePrevState",
            ZohoOption::Direction => "direction",
            ZohoOption::DepartmentId => "departmentId",
        }
    }

    /// The option a subscription key names, if any (keys are case-sensitive).
    pub fn from_key(key: &str) -> Option<ZohoOption> {
        ZohoOption::ALL
            .into_iter()
            .find(|option| option.key() == key)
    }

    /// True for the legacy `departmentId` key.
    pub fn is_legacy(self) -> bool {
        self == ZohoOption::DepartmentId
    }
}

/// The values the `direction` option takes.
pub const ZOHO_THREAD_DIRECTIONS: &[&str] = &["in", "out"];
/// The most field names the `fields` option may list.
pub const ZOHO_MAX_UPDATE_FIELDS: usize = 5;

/// A Zoho Desk webhook event, and what its value in a `subscriptions` object may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZohoEvent {
    /// The event's name as a subscription key, e.g. "Ticket_Update".
    pub name: &'static str,
    /// The options the subscription object may hold; empty when the event takes `null`.
    pub options: &'static [ZohoOption],
    /// True when the schema gives an object with no listed properties (Ticket_Attachment_Add/_Update).
    pub free_form: bool,
}

impl ZohoEvent {
    /// True when a subscription object for this event may hold `key`.
    pub fn accepts_key(&self, key: &str) -> bool {
        ZohoOption::from_key(key).is_some_and(|option| self.options.contains(&option))
    }

    /// The options REFERENCE §5 lists for the event: `options` without the legacy key.
    pub fn documented_options(&self) -> impl Iterator<Item = ZohoOption> + '_ {
        self.options
            .iter()
            .copied()
            .filter(|option| !option.is_legacy())
    }
}

// Short names for the option sets and the table below.
use ZohoOption::{DepartmentId, DepartmentIds, Direction, Fields, IncludePrevState};

/// Option sets shared by several events.
const DEPARTMENTS: &[ZohoOption] = &[DepartmentIds];
const DEPARTMENTS_AND_LEGACY_KEY: &[ZohoOption] = &[DepartmentIds, DepartmentId];
const PREV_STATE: &[ZohoOption] = &[IncludePrevState];
const DEPARTMENTS_AND_PREV_STATE: &[ZohoOption] = &[DepartmentIds, IncludePrevState];

/// An event whose subscription value is `null`.
const fn null_only(name: &'static str) -> ZohoEvent {
    ZohoEvent {
        name,
        options: &[],
        free_form: false,
    }
}

/// An event whose subscription object may hold `options`.
const fn filtered(name: &'static str, options: &'static [ZohoOption]) -> ZohoEvent {
    ZohoEvent {
        name,
        options,
        free_form: false,
    }
}

/// An event whose schema allows an object but lists no properties for it.
const fn free_form(name: &'static str) -> ZohoEvent {
    ZohoEvent {
        name,
        options: &[],
        free_form: true,
    }
}

/// REFERENCE §5's table, row by row and in its order; the legacy `departmentId` is placed
/// where Zoho's schema lists it.
static ZOHO_EVENTS: &[ZohoEvent] = &[
    filtered("Ticket_Add", DEPARTMENTS_AND_LEGACY_KEY),
    filtered(
        "Ticket_Update",
        &[DepartmentIds, Fields, IncludePrevState, DepartmentId],
    ),
    null_only("Ticket_Delete"),
    filtered(
        "Ticket_Thread_Add",
        &[DepartmentIds, Direction, DepartmentId],
    ),
    filtered("Ticket_Comment_Add", DEPARTMENTS_AND_LEGACY_KEY),
    filtered("Ticket_Comment_Update", DEPARTMENTS_AND_LEGACY_KEY),
    free_form("Ticket_Attachment_Add"),
    free_form("Ticket_Attachment_Update"),
    // The schema gives these three departmentIds only, without the legacy key.
    filtered("Ticket_Attachment_Delete", DEPARTMENTS),
    filtered("Ticket_Attachment_Trashed", DEPARTMENTS),
    filtered("Ticket_Attachment_Restored", DEPARTMENTS),
    null_only("Ticket_Comment_Attachment_Add"),
    null_only("Ticket_Comment_Attachment_Delete"),
    null_only("Ticket_Approval_Add"),
    filtered("Ticket_Approval_Update", PREV_STATE),
    null_only("Contact_Add"),
    null_only("Contact_Delete"),
    filtered("Contact_Update", PREV_STATE),
    null_only("Account_Add"),
    null_only("Account_Delete"),
    filtered("Account_Update", PREV_STATE),
    null_only("Agent_Add"),
    null_only("Agent_Delete"),
    null_only("Agent_Presence_Update"),
    null_only("Agent_Channel_Preference_Update"),
    filtered("Agent_Update", PREV_STATE),
    null_only("Department_Add"),
    filtered("Department_Update", PREV_STATE),
    filtered("Task_Add", DEPARTMENTS),
    filtered("Task_Update", DEPARTMENTS_AND_PREV_STATE),
    null_only("Task_Delete"),
    filtered("Call_Add", DEPARTMENTS),
    filtered("Call_Update", DEPARTMENTS_AND_PREV_STATE),
    null_only("Call_Delete"),
    filtered("Event_Add", DEPARTMENTS),
    filtered("Event_Update", DEPARTMENTS_AND_PREV_STATE),
    null_only("Event_Delete"),
    null_only("TimeEntry_Add"),
    null_only("TimeEntry_Delete"),
    filtered("TimeEntry_Update", PREV_STATE),
    null_only("Article_Add"),
    null_only("Article_Delete"),
    null_only("Article_Feedback_Add"),
    null_only("Article_Translation_Add"),
    null_only("Article_Translation_Delete"),
    filtered("Article_Update", PREV_STATE),
    filtered("Article_Translation_Update", PREV_STATE),
    null_only("KBRootCategory_Add"),
    null_only("KBRootCategory_Delete"),
    null_only("KBSection_Add"),
    null_only("KBSection_Delete"),
    filtered("KBRootCategory_Update", PREV_STATE),
    filtered("KBSection_Update", PREV_STATE),
    filtered("IM_Message_Add", DEPARTMENTS),
    filtered("IM_Message_Status", DEPARTMENTS),
    // Not a ticket event, but Zoho's schema lists the legacy key for it too.
    filtered("IM_Session_Status", DEPARTMENTS_AND_LEGACY_KEY),
];

/// The Zoho Desk webhook event with this exact (case-sensitive) name.
pub fn zoho_event(name: &str) -> Option<&'static ZohoEvent> {
    ZOHO_EVENTS.iter().find(|event| event.name == name)
}

/// Every Zoho Desk webhook event, in REFERENCE §5's order.
pub fn zoho_events() -> &'static [ZohoEvent] {
    ZOHO_EVENTS
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn assert_unique<'a>(what: &str, names: impl IntoIterator<Item = &'a str>) {
        let mut seen = HashSet::new();
        for name in names {
            assert!(seen.insert(name), "{what}: {name:?} is listed twice");
        }
    }

    fn documented(name: &str) -> Vec<&'static str> {
        let event = zoho_event(name).unwrap_or_else(|| panic!("{name} is missing"));
        event.documented_options().map(ZohoOption::key).collect()
    }

    #[test]
    fn app_events_are_recognised() {
        for name in ["onAppInstall", "onAppUninstall", "afterAppUpdate"] {
            assert!(is_app_event(name), "{name}");
        }
        assert!(is_app_event("onExternalEvent"));
        assert!(is_app_event("onScheduledEvent"));
        for name in ["onTicketCreate", "onappinstall", "onAppUpdate", ""] {
            assert!(!is_app_event(name), "{name:?}");
        }
    }

    /// `events` all belong to `product`, and it has exactly `count` of them.
    fn assert_has(product: &str, count: usize, events: &[&str]) {
        let list = product_events(product).unwrap_or_else(|| panic!("{product} is unknown"));
        assert_eq!(list.len(), count, "{product}: {list:?}");
        for event in events {
            assert!(list.contains(event), "{product} lacks {event}");
        }
    }

    #[test]
    fn freshdesk_has_its_ticket_contact_company_agent_and_portal_events() {
        assert_has(
            "freshdesk",
            54,
            &[
                "onTicketCreate",
                "onTicketDelete",
                "onConversationUpdate",
                "onContactDelete",
                "onCompanyCreate",
                "onTimeEntryDelete",
                "onCannedResponseCreate",
                "onTicketFieldCreate",
                "onAgentAvailabilityUpdate",
                "onGroupDelete",
                "onArticleCreate",
                "onSurveyUpdate",
            ],
        );
        assert!(
            !product_events("freshdesk")
                .unwrap()
                .contains(&"onDealCreate")
        );
    }

    #[test]
    fn freshservice_has_its_ticket_change_and_user_events() {
        assert_has(
            "freshservice",
            8,
            &[
                "onTicketCreate",
                "onTicketUpdate",
                "onConversationCreate",
                "onChangeUpdate",
                "onUserDelete",
            ],
        );
        assert!(
            !product_events("freshservice")
                .unwrap()
                .contains(&"onTicketDelete")
        );
    }

    #[test]
    fn freshsales_keeps_seed_001_first_and_has_its_leads() {
        let seed_001 = [
            "onContactCreate",
            "onContactUpdate",
            "onDealCreate",
            "onDealUpdate",
            "onSalesAccountCreate",
            "onSalesAccountUpdate",
            "onCustomModuleCreate",
            "onCustomModuleUpdate",
            "onAppointmentCreate",
            "onAppointmentUpdate",
            "onTaskCreate",
            "onTaskUpdate",
        ];
        for product in ["freshsales", "freshworks_crm"] {
            assert_eq!(
                product_events(product).unwrap()[..12],
                seed_001,
                "{product}"
            );
        }
        assert_has("freshsales", 14, &["onLeadCreate", "onLeadUpdate"]);
        assert!(
            !product_events("freshsales")
                .unwrap()
                .contains(&"onCpqDocumentCreate")
        );
    }

    #[test]
    fn freshworks_crm_has_the_suite_events_and_the_leads() {
        assert_has(
            "freshworks_crm",
            25,
            &[
                "onLeadCreate",
                "onConversationUpdate",
                "onSalesActivityCreate",
                "onPhoneCallUpdate",
                "onCpqDocumentDelete",
                "onProductCreate",
            ],
        );
        // Every Classic event is a Suite event: an omni app lists the same under both.
        for event in product_events("freshsales").unwrap() {
            assert!(
                product_events("freshworks_crm").unwrap().contains(event),
                "{event}"
            );
        }
    }

    #[test]
    fn freshteam_freshchat_and_freshcaller_hold_their_sourced_events() {
        assert_has(
            "freshteam",
            8,
            &[
                "onEmployeeCreate",
                "onNewHireUpdate",
                "onJobPostingCreate",
                "onTimeOffUpdate",
            ],
        );
        assert_has(
            "freshchat",
            6,
            &[
                "onConversationCreate",
                "onMessageCreate",
                "onAgentActivityCreate",
                "onUserUpdate",
            ],
        );
        assert_has(
            "freshcaller",
            3,
            &["onCallCreate", "onCallUpdate", "onAgentUpdate"],
        );
    }

    #[test]
    fn product_lists_hold_product_events_only() {
        for product in products() {
            for event in product_events(product).unwrap() {
                assert!(
                    !is_app_event(event),
                    "{product} lists the app event {event}"
                );
                assert!(event.starts_with("on"), "{product}: {event}");
            }
        }
    }

    #[test]
    fn unknown_products_and_modules_are_none() {
        assert_eq!(product_events("zoho_desk"), None);
        assert_eq!(product_events("Freshsales"), None);
        assert_eq!(product_events(""), None);
        assert_eq!(module_events("support_tickets"), None);
        assert_eq!(module_events("freshdesk"), None);
        assert_eq!(module_products("support_tickets"), &[] as &[&str]);
    }

    #[test]
    fn products_are_listed_once_and_all_have_events() {
        let table_names: Vec<&str> = PRODUCT_EVENTS.iter().map(|(name, _)| *name).collect();
        assert_eq!(table_names, products());
        assert_unique("products", products().iter().copied());
        for product in products() {
            let events = product_events(product).unwrap();
            assert!(!events.is_empty(), "{product} has no events");
            assert_unique(product, events.iter().copied());
        }
    }

    #[test]
    fn modules_are_listed_once_with_unique_events() {
        let table_names: Vec<&str> = MODULES_TABLE.iter().map(|module| module.name).collect();
        assert_eq!(table_names, modules());
        assert_unique("modules", modules().iter().copied());
        for module in modules() {
            let events = module_events(module).unwrap();
            assert_unique(module, events.iter().copied());
            assert!(events.iter().all(|event| !is_app_event(event)), "{module}");
        }
    }

    /// A module event that a product it serves does not have could be declared but never
    /// posted: every module event is an event of each of its products.
    #[test]
    fn modules_split_their_products_events() {
        for module in modules().iter().filter(|m| **m != "common") {
            assert!(
                !module_products(module).is_empty(),
                "{module} serves nothing"
            );
            for product in module_products(module) {
                let product_list = product_events(product).unwrap();
                for event in module_events(module).unwrap() {
                    assert!(
                        product_list.contains(event),
                        "{module}: {event} is not an event of {product}"
                    );
                }
            }
        }
    }

    #[test]
    fn modules_have_their_documented_events() {
        assert_eq!(module_events("common"), Some(&[][..]));
        assert_eq!(modules()[0], "common");
        assert_eq!(module_products("common"), &[] as &[&str]);
        let cases: [(&str, &[&str], &[&str]); 12] = [
            (
                "support_ticket",
                &["onTicketCreate", "onTicketDelete", "onConversationCreate"],
                &["freshdesk"],
            ),
            ("support_company", &["onCompanyDelete"], &["freshdesk"]),
            (
                "support_portal",
                &["onForumCreate", "onFolderDelete"],
                &["freshdesk"],
            ),
            ("support_email", &[], &["freshdesk"]),
            (
                "service_ticket",
                &["onTicketCreate", "onTicketUpdate", "onConversationCreate"],
                &["freshservice"],
            ),
            ("service_user", &["onUserCreate"], &["freshservice"]),
            (
                "deal",
                &["onDealCreate", "onDealUpdate"],
                &["freshsales", "freshworks_crm"],
            ),
            (
                "lead",
                &["onLeadCreate", "onLeadUpdate"],
                &["freshsales", "freshworks_crm"],
            ),
            (
                "cpq_document",
                &["onCpqDocumentDelete"],
                &["freshworks_crm"],
            ),
            (
                "chat_user",
                &["onUserCreate", "onUserUpdate"],
                &["freshchat"],
            ),
            ("caller_conversation", &["onCallCreate"], &["freshcaller"]),
            ("caller_agent", &["onAgentUpdate"], &["freshcaller"]),
        ];
        for (module, events, products) in cases {
            let list = module_events(module).unwrap_or_else(|| panic!("{module} is unknown"));
            for event in events {
                assert!(list.contains(event), "{module} lacks {event}");
            }
            assert_eq!(module_products(module), products, "{module}");
        }
        assert_eq!(module_events("support_email"), Some(&[][..]));
        assert_eq!(
            module_events("service_ticket"),
            Some(&["onTicketCreate", "onTicketUpdate", "onConversationCreate"][..])
        );
    }

    #[test]
    fn every_zoho_event_of_the_reference_table_is_present_once() {
        let expected = [
            "Ticket_Add",
            "Ticket_Update",
            "Ticket_Delete",
            "Ticket_Thread_Add",
            "Ticket_Comment_Add",
            "Ticket_Comment_Update",
            "Ticket_Attachment_Add",
            "Ticket_Attachment_Update",
            "Ticket_Attachment_Delete",
            "Ticket_Attachment_Trashed",
            "Ticket_Attachment_Restored",
            "Ticket_Comment_Attachment_Add",
            "Ticket_Comment_Attachment_Delete",
            "Ticket_Approval_Add",
            "Ticket_Approval_Update",
            "Contact_Add",
            "Contact_Delete",
            "Contact_Update",
            "Account_Add",
            "Account_Delete",
            "Account_Update",
            "Agent_Add",
            "Agent_Delete",
            "Agent_Presence_Update",
            "Agent_Channel_Preference_Update",
            "Agent_Update",
            "Department_Add",
            "Department_Update",
            "Task_Add",
            "Task_Update",
            "Task_Delete",
            "Call_Add",
            "Call_Update",
            "Call_Delete",
            "Event_Add",
            "Event_Update",
            "Event_Delete",
            "TimeEntry_Add",
            "TimeEntry_Delete",
            "TimeEntry_Update",
            "Article_Add",
            "Article_Delete",
            "Article_Feedback_Add",
            "Article_Translation_Add",
            "Article_Translation_Delete",
            "Article_Update",
            "Article_Translation_Update",
            "KBRootCategory_Add",
            "KBRootCategory_Delete",
            "KBSection_Add",
            "KBSection_Delete",
            "KBRootCategory_Update",
            "KBSection_Update",
            "IM_Message_Add",
            "IM_Message_Status",
            "IM_Session_Status",
        ];
        assert_eq!(expected.len(), 56);
        let names: Vec<&str> = zoho_events().iter().map(|event| event.name).collect();
        assert_eq!(names, expected);
        assert_unique("zoho events", names.iter().copied());
        for event in zoho_events() {
            let keys = event.options.iter().map(|option| option.key());
            assert_unique(event.name, keys);
        }
        assert_eq!(zoho_event("ticket_add"), None);
        assert_eq!(zoho_event("Ticket_Create"), None);
    }

    #[test]
    fn zoho_options_match_the_reference_table() {
        let none: [&str; 0] = [];
        assert_eq!(documented("Ticket_Add"), ["departmentIds"]);
        assert_eq!(
            documented("Ticket_Update"),
            ["departmentIds", "fields", "includePrevState"]
        );
        assert_eq!(documented("Ticket_Delete"), none);
        assert_eq!(
            documented("Ticket_Thread_Add"),
            ["departmentIds", "direction"]
        );
        assert_eq!(documented("Ticket_Comment_Update"), ["departmentIds"]);
        assert_eq!(documented("Ticket_Attachment_Trashed"), ["departmentIds"]);
        assert_eq!(documented("Ticket_Comment_Attachment_Delete"), none);
        assert_eq!(documented("Ticket_Approval_Add"), none);
        assert_eq!(documented("Ticket_Approval_Update"), ["includePrevState"]);
        assert_eq!(documented("Contact_Add"), none);
        assert_eq!(documented("Contact_Update"), ["includePrevState"]);
        assert_eq!(documented("Agent_Channel_Preference_Update"), none);
        assert_eq!(documented("Agent_Update"), ["includePrevState"]);
        assert_eq!(documented("Task_Add"), ["departmentIds"]);
        assert_eq!(
            documented("Task_Update"),
            ["departmentIds", "includePrevState"]
        );
        assert_eq!(documented("Task_Delete"), none);
        assert_eq!(
            documented("Call_Update"),
            ["departmentIds", "includePrevState"]
        );
        assert_eq!(documented("Event_Add"), ["departmentIds"]);
        assert_eq!(documented("Event_Delete"), none);
        assert_eq!(documented("TimeEntry_Add"), none);
        assert_eq!(documented("TimeEntry_Update"), ["includePrevState"]);
        assert_eq!(documented("Article_Feedback_Add"), none);
        assert_eq!(
            documented("Article_Translation_Update"),
            ["includePrevState"]
        );
        assert_eq!(documented("KBSection_Delete"), none);
        assert_eq!(documented("KBRootCategory_Update"), ["includePrevState"]);
        assert_eq!(documented("IM_Session_Status"), ["departmentIds"]);
    }

    #[test]
    fn zoho_options_are_exact_including_the_legacy_key() {
        let ticket_update = zoho_event("Ticket_Update").unwrap();
        assert_eq!(
            ticket_update.options,
            [DepartmentIds, Fields, IncludePrevState, DepartmentId]
        );
        assert_eq!(
            zoho_event("Ticket_Thread_Add").unwrap().options,
            [DepartmentIds, Direction, DepartmentId]
        );
        assert_eq!(
            zoho_event("Contact_Update").unwrap().options,
            [IncludePrevState]
        );
        assert_eq!(zoho_event("Ticket_Delete").unwrap().options, []);
        assert_eq!(
            zoho_event("Ticket_Attachment_Delete").unwrap().options,
            [DepartmentIds]
        );

        // The legacy key only ever accompanies departmentIds, and comes after the filters.
        let with_legacy: Vec<&str> = zoho_events()
            .iter()
            .filter(|event| event.options.contains(&DepartmentId))
            .map(|event| event.name)
            .collect();
        assert_eq!(
            with_legacy,
            [
                "Ticket_Add",
                "Ticket_Update",
                "Ticket_Thread_Add",
                "Ticket_Comment_Add",
                "Ticket_Comment_Update",
                "IM_Session_Status",
            ]
        );
        for event in zoho_events() {
            if event.options.contains(&DepartmentId) {
                assert!(event.options.contains(&DepartmentIds), "{}", event.name);
                assert_eq!(event.options.last(), Some(&DepartmentId), "{}", event.name);
            }
        }
        // fields and direction belong to one event each.
        for (option, only) in [(Fields, "Ticket_Update"), (Direction, "Ticket_Thread_Add")] {
            let users: Vec<&str> = zoho_events()
                .iter()
                .filter(|event| event.options.contains(&option))
                .map(|event| event.name)
                .collect();
            assert_eq!(users, [only], "{option:?}");
        }
    }

    #[test]
    fn only_the_attachment_events_are_free_form() {
        let free_form: Vec<&str> = zoho_events()
            .iter()
            .filter(|event| event.free_form)
            .map(|event| event.name)
            .collect();
        assert_eq!(
            free_form,
            ["Ticket_Attachment_Add", "Ticket_Attachment_Update"]
        );
        for name in free_form {
            assert!(zoho_event(name).unwrap().options.is_empty(), "{name}");
        }
    }

    #[test]
    fn zoho_keys_round_trip_and_are_checked_per_event() {
        for option in ZohoOption::ALL {
            assert_eq!(ZohoOption::from_key(option.key()), Some(option));
        }
        assert_eq!(ZohoOption::from_key("DepartmentIds"), None);
        assert_eq!(ZohoOption::from_key("prevState"), None);
        assert!(ZohoOption::DepartmentId.is_legacy());
        assert!(!ZohoOption::DepartmentIds.is_legacy());

        let ticket_update = zoho_event("Ticket_Update").unwrap();
        assert!(ticket_update.accepts_key("includePrevState"));
        assert!(ticket_update.accepts_key("departmentId"));
        assert!(!ticket_update.accepts_key("direction"));
        assert!(
            !zoho_event("Ticket_Delete")
                .unwrap()
                .accepts_key("departmentIds")
        );
        assert!(!zoho_event("Task_Add").unwrap().accepts_key("departmentId"));
        assert!(
            !zoho_event("Ticket_Attachment_Add")
                .unwrap()
                .accepts_key("departmentIds")
        );

        assert_eq!(ZOHO_THREAD_DIRECTIONS, ["in", "out"]);
        assert_eq!(ZOHO_MAX_UPDATE_FIELDS, 5);
    }
}
