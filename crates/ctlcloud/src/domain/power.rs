//! The server state machine: which operations a server's status, power state and maintenance
//! mode allow, and where each takes it.
//!
//! The rules are applied twice: when a request is accepted, and again by the job when it runs,
//! against the server as it is then. Reboot and reset restart a running server; on a stopped or
//! paused one they are refused (the public cloud documents reboot as a graceful restart of the
//! operating system and reset as the reset button of a running machine; `powerOn` starts it).

use crate::model::Server;

/// Operations on a server's power, maintenance mode and archival, by their API names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    PowerOn,
    PowerOff,
    ShutDown,
    Pause,
    Reboot,
    Reset,
    StartMaintenance,
    StopMaintenance,
    Archive,
    Restore,
}

impl Operation {
    const ALL: [Operation; 10] = [
        Operation::PowerOn,
        Operation::PowerOff,
        Operation::ShutDown,
        Operation::Pause,
        Operation::Reboot,
        Operation::Reset,
        Operation::StartMaintenance,
        Operation::StopMaintenance,
        Operation::Archive,
        Operation::Restore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::PowerOn => "powerOn",
            Operation::PowerOff => "powerOff",
            Operation::ShutDown => "shutDown",
            Operation::Pause => "pause",
            Operation::Reboot => "reboot",
            Operation::Reset => "reset",
            Operation::StartMaintenance => "startMaintenance",
            Operation::StopMaintenance => "stopMaintenance",
            Operation::Archive => "archive",
            Operation::Restore => "restore",
        }
    }

    /// An operation by its API name, in any case.
    pub fn parse(name: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|o| o.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

/// What an operation does to a server in a given state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The server is already where the operation would take it: nothing to do.
    AlreadyThere,
    /// The operation runs and leaves the server in this state.
    To {
        status: &'static str,
        power_state: &'static str,
        in_maintenance: bool,
    },
}

/// Refuses work on a server that is not active (still building, failed, archived), saying why.
/// `what` names the refused work, e.g. "a snapshot".
pub fn require_active(server: &Server, what: &str) -> Result<(), String> {
    let id = &server.id;
    match server.status.as_str() {
        "active" => Ok(()),
        "underConstruction" => Err(format!(
            "Server {id} is still being built: {what} can be asked for once its build has finished."
        )),
        "failed" => Err(format!(
            "Server {id} failed to build: it can only be deleted."
        )),
        "archived" => Err(format!(
            "Server {id} is archived: restore it before asking for {what}."
        )),
        other => Err(format!("Server {id} is {other}: {what} is not possible.")),
    }
}

/// What `op` does to `server` as it is now, or why it cannot.
pub fn transition(server: &Server, op: Operation) -> Result<Transition, String> {
    let id = &server.id;
    let keep = server.in_maintenance;
    let power = |power_state| Transition::To {
        status: "active",
        power_state,
        in_maintenance: keep,
    };
    match (op, server.status.as_str()) {
        (Operation::Archive, "archived") => return Ok(Transition::AlreadyThere),
        (Operation::Restore, "archived") => return Ok(power("started")),
        (Operation::Restore, "active") => {
            return Err(format!(
                "Server {id} is not archived: only an archived server can be restored."
            ))
        }
        _ => require_active(server, &format!("the operation {}", op.as_str()))?,
    }
    let already =
        |yes: bool, then: Transition| Ok(if yes { Transition::AlreadyThere } else { then });
    let state = server.power_state.as_str();
    match (op, state) {
        (Operation::Archive, _) if server.managed_os => Err(format!(
            "Server {id} has a managed operating system, and managed servers cannot be archived."
        )),
        (Operation::Archive, _) => Ok(Transition::To {
            status: "archived",
            power_state: "stopped",
            in_maintenance: keep,
        }),
        (Operation::StartMaintenance, _) => already(
            keep,
            Transition::To {
                status: "active",
                power_state: power_name(state),
                in_maintenance: true,
            },
        ),
        (Operation::StopMaintenance, _) => already(
            !keep,
            Transition::To {
                status: "active",
                power_state: power_name(state),
                in_maintenance: false,
            },
        ),
        (Operation::PowerOn, "started" | "stopped" | "paused") => {
            already(state == "started", power("started"))
        }
        (Operation::PowerOff, "started" | "stopped" | "paused") => {
            already(state == "stopped", power("stopped"))
        }
        (Operation::ShutDown, "stopped") => Ok(Transition::AlreadyThere),
        (Operation::ShutDown, "started") => Ok(power("stopped")),
        (Operation::ShutDown, "paused") => Err(format!(
            "Server {id} is paused: a shut down needs a running operating system. Power it on first, or power it off."
        )),
        (Operation::Pause, "paused") => Ok(Transition::AlreadyThere),
        (Operation::Pause, "started") => Ok(power("paused")),
        (Operation::Pause, "stopped") => Err(format!(
            "Server {id} is stopped: only a started server can be paused."
        )),
        (Operation::Reboot | Operation::Reset, "started") => Ok(power("started")),
        (Operation::Reboot | Operation::Reset, "stopped" | "paused") => Err(format!(
            "Server {id} is {state}: {} restarts a running server. Use powerOn to start it.",
            op.as_str()
        )),
        _ => Err(format!(
            "Server {id} is in the power state '{state}', which allows no {}.",
            op.as_str()
        )),
    }
}

/// The canonical spelling of a stored power state.
fn power_name(state: &str) -> &'static str {
    match state {
        "started" => "started",
        "paused" => "paused",
        _ => "stopped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChangeInfo;

    fn server(status: &str, power_state: &str) -> Server {
        Server {
            id: "WA1DEMOWEB01".into(),
            uuid: String::new(),
            account_id: 1,
            dc: "WA1".into(),
            group_id: String::new(),
            description: String::new(),
            template: String::new(),
            cpu: 1,
            memory_mb: 1024,
            server_type: "standard".into(),
            storage_type: "standard".into(),
            managed_os: false,
            managed_backup: false,
            status: status.into(),
            power_state: power_state.into(),
            in_maintenance: false,
            disks: Vec::new(),
            custom_fields: Vec::new(),
            change: ChangeInfo::default(),
            addresses: Vec::new(),
            attached: Default::default(),
        }
    }

    fn power_after(s: &Server, op: Operation) -> Result<Option<&'static str>, String> {
        transition(s, op).map(|t| match t {
            Transition::AlreadyThere => None,
            Transition::To { power_state, .. } => Some(power_state),
        })
    }

    #[test]
    fn power_operations_from_each_power_state() {
        use Operation::*;
        let started = server("active", "started");
        let stopped = server("active", "stopped");
        let paused = server("active", "paused");
        assert_eq!(power_after(&started, PowerOn), Ok(None));
        assert_eq!(power_after(&stopped, PowerOn), Ok(Some("started")));
        assert_eq!(power_after(&paused, PowerOn), Ok(Some("started")));
        assert_eq!(power_after(&started, PowerOff), Ok(Some("stopped")));
        assert_eq!(power_after(&paused, PowerOff), Ok(Some("stopped")));
        assert_eq!(power_after(&stopped, PowerOff), Ok(None));
        assert_eq!(power_after(&started, ShutDown), Ok(Some("stopped")));
        assert!(power_after(&paused, ShutDown)
            .unwrap_err()
            .contains("paused"));
        assert_eq!(power_after(&started, Pause), Ok(Some("paused")));
        assert_eq!(power_after(&paused, Pause), Ok(None));
        assert!(power_after(&stopped, Pause)
            .unwrap_err()
            .contains("only a started server can be paused"));
        for op in [Reboot, Reset] {
            assert_eq!(power_after(&started, op), Ok(Some("started")));
            assert!(power_after(&stopped, op).unwrap_err().contains("powerOn"));
            assert!(power_after(&paused, op).is_err());
        }
    }

    #[test]
    fn only_active_servers_take_power_operations() {
        for status in ["underConstruction", "failed", "archived"] {
            let s = server(status, "stopped");
            let refused = transition(&s, Operation::PowerOn).unwrap_err();
            assert!(refused.contains("WA1DEMOWEB01"), "{refused}");
            assert!(transition(&s, Operation::StartMaintenance).is_err());
        }
        assert!(transition(&server("underConstruction", "stopped"), Operation::Archive).is_err());
    }

    #[test]
    fn maintenance_mode_keeps_the_power_state() {
        let mut s = server("active", "paused");
        assert_eq!(
            transition(&s, Operation::StartMaintenance),
            Ok(Transition::To {
                status: "active",
                power_state: "paused",
                in_maintenance: true
            })
        );
        assert_eq!(
            transition(&s, Operation::StopMaintenance),
            Ok(Transition::AlreadyThere)
        );
        s.in_maintenance = true;
        assert_eq!(
            transition(&s, Operation::StartMaintenance),
            Ok(Transition::AlreadyThere)
        );
        assert_eq!(power_after(&s, Operation::PowerOn), Ok(Some("started")));
        let Ok(Transition::To { in_maintenance, .. }) = transition(&s, Operation::PowerOn) else {
            panic!("power on of a paused server runs")
        };
        assert!(in_maintenance, "power operations keep maintenance mode");
    }

    #[test]
    fn archive_and_restore() {
        let mut s = server("active", "started");
        assert_eq!(
            transition(&s, Operation::Archive),
            Ok(Transition::To {
                status: "archived",
                power_state: "stopped",
                in_maintenance: false
            })
        );
        assert!(transition(&s, Operation::Restore)
            .unwrap_err()
            .contains("not archived"));
        s.managed_os = true;
        assert!(transition(&s, Operation::Archive)
            .unwrap_err()
            .contains("managed"));
        let archived = server("archived", "stopped");
        assert_eq!(
            transition(&archived, Operation::Archive),
            Ok(Transition::AlreadyThere)
        );
        assert_eq!(
            power_after(&archived, Operation::Restore),
            Ok(Some("started"))
        );
        assert!(transition(&archived, Operation::Pause)
            .unwrap_err()
            .contains("archived"));
    }

    #[test]
    fn operations_parse_in_any_case() {
        assert_eq!(Operation::parse("POWEROFF"), Some(Operation::PowerOff));
        assert_eq!(Operation::parse("shutDown"), Some(Operation::ShutDown));
        assert_eq!(Operation::parse("explode"), None);
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.as_str()), Some(op));
        }
    }
}
