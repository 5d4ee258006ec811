//! The external feed: a drop folder an outside program writes into, its lock-file protocol,
//! and alarms when a lock stays too long.

mod alarms;
pub mod capture;
pub mod locks;
mod record;

pub use capture::{capture, check_stuck_locks, Captured};
pub use record::record;
