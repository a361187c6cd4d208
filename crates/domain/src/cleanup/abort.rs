//! Deleting an unswitched green: action `abort`, and the failure path's rollback of a green
//! whose build failed (`Run::should_roll_back`). The state each records, pass after pass.

use serde::{Deserialize, Serialize};

/// Where an abort (or a rollback) stands (`Run::abort`, `Run::rollback`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AbortState {
    pub deleted_target: bool,
    pub done: bool,
    pub next_delay_seconds: u32,
    #[serde(default)]
    pub steps: Vec<String>,
}
