//! [`Forwarder`]: what a [`Relay`](super::Relay) sends for each item upstream gave:
//! events encoded again or their blocks as they are, the ids, the end.

use std::collections::VecDeque;

use bytes::Bytes;
use sse_rs_core::decode::{Decoded, Decoder, MessageEvent};

use super::RelayError;
use crate::{EncodedEvent, Event};

type Inspect = Box<dyn FnMut(&MessageEvent) + Send>;
type FilterMap = Box<dyn FnMut(MessageEvent) -> Option<MessageEvent> + Send>;

/// What goes to the client for each decoded item: the options, the hooks and the
/// client's last event id.
pub(super) struct Forwarder {
    pub(super) verbatim: bool,
    pub(super) comments: bool,
    pub(super) retry: bool,
    pub(super) max_event_size: usize,
    pub(super) inspect: Option<Inspect>,
    pub(super) filter_map: Option<FilterMap>,
    pub(super) end: Option<EndEvent>,
    /// The client's last event id, as the events sent so far set it.
    pub(super) sent_id: String,
    /// Verbatim: `false` after a block forwarded without an event (which may have
    /// moved the client's id in a way only the decoder knows).
    pub(super) id_known: bool,
    /// Verbatim: the id after the event whose block is forwarded next.
    pub(super) raw_id: Option<String>,
    /// Decoded events: the id of dropped events, not sent yet.
    pub(super) owed_id: Option<String>,
    /// Comments and `retry` read since the last event sent (or dropped), to go with
    /// the next event: no block without data goes out (see the module docs).
    pub(super) pending: Option<Event>,
    /// The bytes of the comments in `pending`.
    pub(super) pending_comments: usize,
    /// An event was read since the last block boundary (comments on).
    pub(super) event_in_block: bool,
    /// The last event sent was the end event.
    pub(super) ended: bool,
    /// Verbatim: the block of the event just read is not forwarded (dropped, or sent
    /// encoded again).
    pub(super) skip_block: bool,
    /// Verbatim: the last block was forwarded as it is (so the client's id is the
    /// decoder's).
    pub(super) last_raw: bool,
    pub(super) queue: VecDeque<EncodedEvent>,
}

pub(super) struct EndEvent {
    pub(super) event: Event,
    pub(super) kind: String,
    pub(super) data: Option<Bytes>,
}

impl EndEvent {
    fn matches(&self, event: &MessageEvent) -> bool {
        self.data
            .as_ref()
            .is_some_and(|data| event.data.as_bytes() == &data[..] && event.event == self.kind)
    }
}

impl Forwarder {
    pub(super) fn new() -> Self {
        Self {
            verbatim: false,
            comments: false,
            retry: false,
            max_event_size: Decoder::DEFAULT_MAX_EVENT_SIZE,
            inspect: None,
            filter_map: None,
            end: None,
            sent_id: String::new(),
            pending: None,
            pending_comments: 0,
            event_in_block: false,
            ended: false,
            skip_block: false,
            id_known: true,
            raw_id: None,
            owed_id: None,
            last_raw: false,
            queue: VecDeque::new(),
        }
    }

    pub(super) fn decoder(&self) -> Decoder {
        Decoder::new()
            .max_event_size(self.max_event_size)
            .comments(self.comments && !self.verbatim)
            // Comments: the block boundaries tell a keep-alive from an event's comment.
            .blocks(self.verbatim || self.comments)
            .with_last_event_id(&self.sent_id)
    }

    pub(super) fn item(&mut self, item: Decoded) -> Result<(), RelayError> {
        match item {
            Decoded::Event(event) => self.event(event),
            Decoded::Block(block) if self.verbatim => {
                self.last_raw = !std::mem::take(&mut self.skip_block);
                if self.last_raw {
                    self.queue.push_back(block);
                    match self.raw_id.take() {
                        Some(id) => self.sent_id = id,
                        None => self.id_known = false,
                    }
                }
                Ok(())
            }
            Decoded::Block(_) => {
                if !std::mem::take(&mut self.event_in_block) {
                    // A block without an event (a keep-alive): its comments go nowhere.
                    self.drop_pending_comments();
                }
                Ok(())
            }
            // Verbatim: in the block's bytes already.
            Decoded::Comment(text) if self.comments && !self.verbatim => {
                // Past the bound (keep-alives without events, from decoded events),
                // comments are dropped.
                if self.pending_comments + text.len() < self.max_event_size {
                    self.pending_comments += text.len() + 1;
                    self.pending = Some(self.pending.take().unwrap_or_default().comment(text));
                }
                Ok(())
            }
            Decoded::Retry(delay) if self.retry && !self.verbatim => {
                self.pending = Some(self.pending.take().unwrap_or_default().retry(delay));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Keeps the `retry` of `pending`, drops its comments.
    fn drop_pending_comments(&mut self) {
        let retry = self.pending.take().and_then(|event| event.fields().retry);
        self.pending = retry.map(|retry| Event::default().retry(retry));
        self.pending_comments = 0;
    }

    fn event(&mut self, event: MessageEvent) -> Result<(), RelayError> {
        self.event_in_block = true;
        if let Some(inspect) = &mut self.inspect {
            inspect(&event);
        }
        let Some(filter_map) = &mut self.filter_map else {
            return self.pass(event);
        };
        let id = event.last_event_id.clone();
        let original = self.verbatim.then(|| event.clone());
        match filter_map(event) {
            Some(kept) if original.as_ref() == Some(&kept) => self.pass(kept),
            Some(mut kept) => {
                self.skip_block = self.verbatim;
                kept.last_event_id = id;
                self.send(kept)
            }
            None if self.verbatim => {
                self.skip_block = true;
                // The client's id moves over a dropped event too, before the next
                // block (whose event has this id upstream).
                if !self.id_known || id != self.sent_id {
                    self.send_id(&id)?;
                }
                Ok(())
            }
            None => {
                // The client's id moves over a dropped event too: with the next event.
                self.owed_id = (id != self.sent_id).then_some(id);
                // Its comments are dropped with it.
                self.drop_pending_comments();
                Ok(())
            }
        }
    }

    /// An event as upstream sent it: its block, or encoded again.
    fn pass(&mut self, event: MessageEvent) -> Result<(), RelayError> {
        if self.verbatim {
            self.ended = self.end.as_ref().is_some_and(|end| end.matches(&event));
            self.raw_id = Some(event.last_event_id);
            Ok(())
        } else {
            self.send(event)
        }
    }

    /// Encodes `event` with this crate's encoder.
    fn send(&mut self, event: MessageEvent) -> Result<(), RelayError> {
        self.check_size(event.data.len())?;
        self.ended = self.end.as_ref().is_some_and(|end| end.matches(&event));
        let mut out = self.pending.take().unwrap_or_default();
        self.pending_comments = 0;
        if !event.event.is_empty() && event.event != "message" {
            out = out.try_event(event.event)?;
        }
        if !self.id_known || event.last_event_id != self.sent_id {
            out = out.try_id(event.last_event_id.as_str())?;
            self.sent_id = event.last_event_id;
            self.id_known = true;
        }
        self.owed_id = None;
        self.queue.push_back(out.data(event.data).encode());
        Ok(())
    }

    /// A block that sets the client's last event id to `id`, without an event.
    fn send_id(&mut self, id: &str) -> Result<(), RelayError> {
        self.queue.push_back(Event::default().try_id(id)?.encode());
        id.clone_into(&mut self.sent_id);
        self.id_known = true;
        Ok(())
    }

    fn check_size(&self, len: usize) -> Result<(), RelayError> {
        if len > self.max_event_size {
            return Err(RelayError::TooLarge {
                limit: self.max_event_size,
            });
        }
        Ok(())
    }

    /// Upstream ended (`clean`: by itself, not with an error), its last event id
    /// `id` (when known): what is still to send goes with the end event, or in a
    /// block of its own (comments after the last event are dropped).
    pub(super) fn finish(&mut self, id: Option<String>, clean: bool) -> Result<(), RelayError> {
        let retry = self.pending.take().and_then(|event| event.fields().retry);
        self.pending_comments = 0;
        let id = id.filter(|id| !self.id_known || *id != self.sent_id);
        let mut last = match &self.end {
            Some(end) if clean && !self.ended => {
                self.ended = true;
                Some(end.event.clone())
            }
            _ => None,
        };
        if let Some(retry) = retry {
            last = Some(last.unwrap_or_default().retry(retry));
        }
        if let Some(id) = id {
            let event = last.unwrap_or_default();
            // An id of the end event's own wins.
            last = Some(if event.fields().id.is_some() {
                event
            } else {
                event.try_id(id.as_str())?
            });
            self.sent_id = id;
            self.id_known = true;
        }
        if let Some(last) = last {
            self.queue.push_back(last.encode());
        }
        Ok(())
    }
}
