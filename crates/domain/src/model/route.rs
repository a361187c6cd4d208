//! Where the state machine goes after the precheck (`precheck::route` decides it).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// An alarm back to OK, or similar: nothing to do, nothing published.
    Noop,
    Plan,
    Prepare,
    Upgrade,
    Switchover,
    Abort,
    Cleanup,
    /// An alarm-triggered run found a deployment already in flight for this database.
    AlreadyInProgress,
    /// A fleet request: handed over to the fleet state machine.
    Fleet,
}
