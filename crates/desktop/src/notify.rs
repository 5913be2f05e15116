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

    /// The buttons pressed on notifications from now on (the subscription is made before this
    /// returns, so no press after it is missed). Iterating blocks: do it on a thread of its own.
    pub fn actions(&self) -> Result<Actions, Error> {
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(SERVICE)?
            .member("ActionInvoked")?
            .build();
        Ok(Actions(zbus::blocking::MessageIterator::for_match_rule(rule, &self.bus, None)?))
    }
}

/// Buttons pressed: (notification id, action key), until the bus goes away.
pub struct Actions(zbus::blocking::MessageIterator);

impl Iterator for Actions {
    type Item = (u32, String);

    fn next(&mut self) -> Option<(u32, String)> {
        loop {
            match self.0.next()? {
                Ok(msg) => match msg.body().deserialize::<(u32, String)>() {
                    Ok(pressed) => return Some(pressed),
                    Err(_) => continue,
                },
                Err(_) => return None,
            }
        }
    }
}
