//! Fleets: one request takes many databases across a major version. A fleet request selects
//! databases by tags (`request`, `select`); the fleet state machine runs each as its own
//! execution of the per-database machine, a sliding window of `max_concurrency`, soaks once
//! and cleans up (`campaign`); the result is one row per database (`table`).

pub mod campaign;
pub mod request;
pub mod select;
pub mod table;

pub use campaign::{Campaign, ChildStatus, Next, Phase, StartChild, FLEET_INCOMPLETE};
pub use request::{
    fleet_request, scheduled, FleetRequest, Selector, DEFAULT_MAX_CONCURRENCY,
    MAX_CONCURRENCY_LIMIT, SELECTABLE_ENGINES,
};
pub use select::{select, Candidate, MemberRef, Selection, MAX_FLEET_SIZE};
pub use table::{ChildRun, Outcome, Row, Summary};
