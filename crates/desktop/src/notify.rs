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

    /// Shows a notification; the id the server gave it.
    pub fn send(&self, summary: &str, body: &str, urgency: Urgency) -> Result<u32, Error> {
        let mut hints: HashMap<&str, Value> = HashMap::new();
        hints.insert("urgency", Value::U8(urgency as u8));
        hints.insert("desktop-entry", Value::from("mamori"));
        let actions: Vec<&str> = Vec::new();
        // app name, replaces id, icon, summary, body, actions, hints, timeout (-1: the server's)
        let body = ("mamori", 0u32, "security-high", summary, body, actions, hints, -1i32);
        let reply = self.bus.call_method(Some(SERVICE), PATH, Some(SERVICE), "Notify", &body)?;
        Ok(reply.body().deserialize::<u32>()?)
    }
}
