//! Pages of lists as the API answers them: `Page` from the store, and the
//! typed answers `{"messages": [...]}` / `{"inbound": [...]}` with the
//! cursor for the next page, which the CLI reads back.

use serde::{Deserialize, Serialize};

use super::view::{InboundView, MessageView};

/// A page of results and the cursor for the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// `GET /api/messages`: a page of message summaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    pub next_cursor: Option<String>,
}

impl From<Page<MessageView>> for MessagePage {
    fn from(p: Page<MessageView>) -> MessagePage {
        MessagePage {
            messages: p.items,
            next_cursor: p.next_cursor,
        }
    }
}

/// `GET /api/inbound`: a page of inbound messages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundPage {
    pub inbound: Vec<InboundView>,
    pub next_cursor: Option<String>,
}

impl From<Page<InboundView>> for InboundPage {
    fn from(p: Page<InboundView>) -> InboundPage {
        InboundPage {
            inbound: p.items,
            next_cursor: p.next_cursor,
        }
    }
}
