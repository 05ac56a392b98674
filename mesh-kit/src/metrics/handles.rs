//! The handles of a hot histogram, one per set of label values, made once: `histogram!` builds
//! the labels and looks their key up in the recorder on every call, which cost about 3,000
//! instructions a call (callgrind, 2026-12-07), and the gateway records two a request.

use std::{cell::RefCell, collections::HashMap, sync::RwLock, time::Duration};

use metrics::{Histogram, Label};

/// At most this many label sets are remembered; further ones are recorded the slow way, so label
/// values a client chooses cannot grow the memory.
const REMEMBERED: usize = 1024;

thread_local! {
    /// The key of the label values being looked up, reused so a lookup allocates nothing.
    static KEY: RefCell<String> = const { RefCell::new(String::new()) };
}

/// One histogram's handles, by the values of its labels (named once, in [`Self::new`]).
pub struct HistogramHandles {
    name: &'static str,
    labels: &'static [&'static str],
    handles: RwLock<HashMap<Box<str>, Histogram>>,
}

impl HistogramHandles {
    pub fn new(name: &'static str, labels: &'static [&'static str]) -> Self {
        Self {
            name,
            labels,
            handles: RwLock::new(HashMap::new()),
        }
    }

    /// Records `elapsed` under the label `values`, given in the order of the labels' names.
    pub fn record(&self, values: &[&str], elapsed: Duration) {
        if !super::installed() {
            // No recorder: nothing is kept, and a handle made now would stay a no-op.
            return;
        }
        KEY.with_borrow_mut(|key| {
            key.clear();
            for value in values {
                // NUL-separated: no route, HTTP method, gRPC path or code holds one, and values
                // that do are never remembered, so no two lists of values make one key.
                key.push_str(value);
                key.push('\0');
            }
            let handles = self.handles.read().unwrap_or_else(|p| p.into_inner());
            if let Some(handle) = handles.get(key.as_str()) {
                handle.record(elapsed);
                return;
            }
            drop(handles);
            let labels: Vec<Label> = self
                .labels
                .iter()
                .zip(values)
                .map(|(name, value)| Label::new(*name, value.to_string()))
                .collect();
            let handle = metrics::histogram!(self.name, labels);
            handle.record(elapsed);
            if values.iter().any(|value| value.contains('\0')) {
                return;
            }
            let mut handles = self.handles.write().unwrap_or_else(|p| p.into_inner());
            if handles.len() < REMEMBERED {
                handles.insert(key.as_str().into(), handle);
            }
        });
    }
}
