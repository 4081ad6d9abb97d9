//! The workers: fan-out of events to subscriptions, handler execution, outbound delivery
//! and schedules.
//!
//! Not built yet: it arrives with product events. The HTTP layer persists and answers;
//! this crate will do the work.
