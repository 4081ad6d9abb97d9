//! The JavaScript sandbox (QuickJS) that runs app handlers with the platform globals.
//!
//! Not built yet: it arrives with the handler runtime. It will know nothing of SQL or
//! sockets; the engine hands it a host interface for `$db`, HTTP, schedules and URLs.
