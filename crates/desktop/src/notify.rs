//! Desktop notifications through the freedesktop Notifications interface
//! (`org.freedesktop.Notifications.Notify` on the session bus), which GNOME, KDE, Xfce,
//! dunst and mako all serve.

use crate::Error;
use std::collections::HashMap;
use zbus::zvariant::Value;

const SERVICE: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";

/// How pressing a notification is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    Low = 0,
    Normal = 1,
    Critical = 2,
}

/// A connection to the session bus for sending notifications.
pub struct Notifier {
    bus: zbus::blocking::Connection,
}

impl Notifier {
    /// Connects to the session bus (`DBUS_SESSION_BUS_ADDRESS`, else the user's bus socket).
    pub fn session() -> Result<Notifier, Error> {
        Ok(Notifier { bus: zbus::blocking::Connection::session()? })
    }

    /// Shows a notification with buttons (`actions`: key and label); the id the server gave it.
    pub fn send(&self, summary: &str, body: &str, urgency: Urgency, actions: &[(&str, &str)]) -> Result<u32, Error> {
        let mut hints: HashMap<&str, Value> = HashMap::new();
        hints.insert("urgency", Value::U8(urgency as u8));
        hints.insert("desktop-entry", Value::from("mamori"));
        // the spec's actions are a flat list: key, label, key, label, …
        let actions: Vec<&str> = actions.iter().flat_map(|(k, l)| [*k, *l]).collect();
        // app name, replaces id, icon, summary, body, actions, hints, timeout (-1: the server's)
        let body = ("mamori", 0u32, "security-high", summary, body, actions, hints, -1i32);
        let reply = self.bus.call_method(Some(SERVICE), PATH, Some(SERVICE), "Notify", &body)?;
        Ok(reply.body().deserialize::<u32>()?)
    }

    /// Calls `on_action(notification id, action key)` for each button pressed on a notification,
    /// until the bus goes away. Blocks: run it on a thread of its own.
    pub fn listen(&self, mut on_action: impl FnMut(u32, String)) -> Result<(), Error> {
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(SERVICE)?
            .member("ActionInvoked")?
            .build();
        for msg in zbus::blocking::MessageIterator::for_match_rule(rule, &self.bus, None)? {
            if let Ok((id, key)) = msg?.body().deserialize::<(u32, String)>() {
                on_action(id, key);
            }
        }
        Ok(())
    }
}
