//! Compute drivers: what actually happens to a server when its job runs.
//!
//! The simulated driver is deterministic: each step takes a configured delay, and builds fail on
//! purpose for servers whose name contains a configured marker, so tests can rely on a failure
//! happening exactly where they asked for it.

use std::time::Duration;

use crate::domain::power::Operation;
use crate::model::{Server, Snapshot};

pub enum Compute {
    Sim(Sim),
}

#[derive(Clone, Debug, Default)]
pub struct Sim {
    /// How long each build, change, delete, power operation or snapshot step takes.
    pub delay: Duration,
    /// Builds of servers whose name contains this (any case) fail.
    pub fail_marker: Option<String>,
}

impl Compute {
    /// Builds a server. Running it again for the same server must be harmless.
    pub async fn build(&self, server: &Server) -> Result<(), String> {
        match self {
            Compute::Sim(sim) => {
                tokio::time::sleep(sim.delay).await;
                match &sim.fail_marker {
                    Some(marker) if !marker.is_empty() && server.id.contains(&marker.to_uppercase()) => Err(format!(
                        "The build of {} failed: the simulated driver fails servers whose name contains {marker}.",
                        server.id
                    )),
                    _ => Ok(()),
                }
            }
        }
    }

    /// Brings a built server's machine to its new configuration: cpu, memory, disks, guest
    /// password, network adapters, public address translation. The configuration to reach is
    /// given whole, so running it again must be harmless.
    pub async fn reconfigure(&self, _server: &Server) -> Result<(), String> {
        match self {
            Compute::Sim(sim) => {
                tokio::time::sleep(sim.delay).await;
                Ok(())
            }
        }
    }

    /// Removes a server's machine. Running it again must be harmless.
    pub async fn destroy(&self, _server: &Server) -> Result<(), String> {
        match self {
            Compute::Sim(sim) => {
                tokio::time::sleep(sim.delay).await;
                Ok(())
            }
        }
    }

    /// Runs a power, maintenance, archive or restore operation. The state machine has already
    /// checked it is possible; doing it to a machine already there must be harmless.
    pub async fn operate(&self, _server: &Server, _op: Operation) -> Result<(), String> {
        match self {
            Compute::Sim(sim) => sim.work().await,
        }
    }

    /// Takes a snapshot of a server's machine.
    pub async fn take_snapshot(&self, _server: &Server) -> Result<(), String> {
        match self {
            Compute::Sim(sim) => sim.work().await,
        }
    }

    /// Brings a server's machine back to a snapshot; the snapshot is kept.
    pub async fn revert_snapshot(
        &self,
        _server: &Server,
        _snapshot: &Snapshot,
    ) -> Result<(), String> {
        match self {
            Compute::Sim(sim) => sim.work().await,
        }
    }

    /// Discards a snapshot. Discarding one that is gone already must be harmless.
    pub async fn delete_snapshot(&self, _snapshot: &Snapshot) -> Result<(), String> {
        match self {
            Compute::Sim(sim) => sim.work().await,
        }
    }
}

impl Sim {
    /// A step of simulated work: it takes the configured delay and succeeds.
    async fn work(&self) -> Result<(), String> {
        tokio::time::sleep(self.delay).await;
        Ok(())
    }
}
