//! THE table of commands and their flags. The parser accepts exactly
//! these, `--help` and `COMMAND --help` print them, and tests check both
//! against it.

/// One flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag {
    /// `--name`.
    pub long: &'static str,
    pub short: Option<char>,
    /// The value's placeholder (`ADDR`); None for a switch.
    pub value: Option<&'static str>,
    pub help: &'static str,
    /// The configuration variable it sets (on top of the environment).
    pub variable: Option<&'static str>,
    /// The API query parameter it becomes (listing commands).
    pub param: Option<&'static str>,
    /// May be given more than once; every value counts.
    pub repeat: bool,
    /// The command is a usage error without it.
    pub required: bool,
}

const fn flag(long: &'static str, value: Option<&'static str>, help: &'static str) -> Flag {
    Flag {
        long,
        short: None,
        value,
        help,
        variable: None,
        param: None,
        repeat: false,
        required: false,
    }
}

const fn value(long: &'static str, value: &'static str, help: &'static str) -> Flag {
    flag(long, Some(value), help)
}

/// A flag that sets a configuration variable.
const fn setting(
    long: &'static str,
    val: &'static str,
    variable: &'static str,
    help: &'static str,
) -> Flag {
    Flag {
        variable: Some(variable),
        ..value(long, val, help)
    }
}

/// A listing filter: becomes the API query parameter `param`.
const fn filter(
    long: &'static str,
    val: &'static str,
    param: &'static str,
    help: &'static str,
) -> Flag {
    Flag {
        param: Some(param),
        ..value(long, val, help)
    }
}

/// One command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandSpec {
    pub name: &'static str,
    /// The positional argument it takes (`ID`), if any.
    pub argument: Option<&'static str>,
    pub about: &'static str,
    pub flags: &'static [Flag],
}

/// Flags every command takes.
pub const COMMON_FLAGS: &[Flag] = &[
    setting(
        "--listen",
        "ADDR",
        "SINCH_DLR_LISTEN",
        "address to listen on; commands reach the daemon there",
    ),
    setting("--db", "PATH", "SINCH_DLR_DB", "the redb file"),
    setting(
        "--workers",
        "N",
        "SINCH_DLR_WORKERS",
        "request worker threads",
    ),
    setting(
        "--log-level",
        "LEVEL",
        "LOG_LEVEL",
        "error, warn, info, debug, trace",
    ),
    flag(
        "--insecure-no-auth",
        None,
        "accept unauthenticated callbacks (development only; SINCH_DLR_CALLBACK_AUTH=none)",
    ),
    value(
        "--env-file",
        "PATH",
        "read variables from PATH instead of ./.env",
    ),
    flag("--no-env-file", None, "read no .env file"),
    Flag {
        short: Some('v'),
        ..flag(
            "--verbose",
            None,
            "say on stderr whether the answer came from the daemon or the file",
        )
    },
    Flag {
        short: Some('h'),
        ..flag("--help", None, "this text")
    },
    Flag {
        short: Some('V'),
        ..flag("--version", None, "the version")
    },
];

const FORMAT_TEXT: Flag = value("--format", "text|json", "output format (default text)");

/// The message filters of `messages` and `export`.
const BATCH: Flag = filter("--batch", "ID", "batch_id", "messages of this batch");
const TO: Flag = filter(
    "--to",
    "NUMBER",
    "to",
    "messages to this number (matched by digits)",
);
const REFERENCE: Flag = filter(
    "--client-reference",
    "R",
    "client_reference",
    "messages with this client reference",
);
const STATUS: Flag = Flag {
    repeat: true,
    ..filter(
        "--status",
        "S[,S...]",
        "status",
        "latest status is one of these (any case; none = no report yet)",
    )
};
const FINAL: Flag = filter(
    "--final",
    "true|false",
    "final",
    "latest status is final (true) or not yet (false)",
);
const CODE: Flag = filter("--code", "N", "code", "latest status code is N (e.g. 402)");
const SINCE: Flag = filter("--since", "T", "since", "created at or after T");
const UNTIL: Flag = filter("--until", "T", "until", "created before T (exclusive)");
const STATUS_SINCE: Flag = filter(
    "--status-since",
    "T",
    "status_since",
    "latest status at or after T",
);
const STATUS_UNTIL: Flag = filter(
    "--status-until",
    "T",
    "status_until",
    "latest status before T (exclusive)",
);

/// The listing flags every list command shares.
const LIMIT: Flag = filter(
    "--limit",
    "N",
    "limit",
    "at most N rows, 1-1000 (default 50)",
);
const CURSOR: Flag = filter(
    "--cursor",
    "C",
    "cursor",
    "the next page (printed after a full page)",
);
const FORMAT_LIST: Flag = value(
    "--format",
    "table|json|csv",
    "output format (default table)",
);

pub const COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "serve",
        argument: None,
        about: "receive and store callbacks; serve the API and the dashboard (the default)",
        flags: &[],
    },
    CommandSpec {
        name: "send",
        argument: None,
        about: "send an SMS through Sinch (needs --to and --body; as POST /api/messages/send)",
        flags: &[
            Flag {
                repeat: true,
                required: true,
                ..value("--to", "NUMBER", "a recipient")
            },
            Flag {
                required: true,
                ..value("--body", "TEXT", "the message")
            },
            value("--from", "SENDER", "the sender"),
            value(
                "--client-reference",
                "R",
                "your reference, kept with the messages",
            ),
            value(
                "--delivery-report",
                "KIND",
                "none, summary, full, per_recipient (default), per_recipient_final",
            ),
            value(
                "--callback-url",
                "URL",
                "where Sinch posts reports (default SINCH_DLR_PUBLIC_URL)",
            ),
            flag(
                "--feedback",
                None,
                "ask for delivery feedback (then: sinch-dlr feedback ID)",
            ),
        ],
    },
    CommandSpec {
        name: "reconcile",
        argument: None,
        about: "ask Sinch about messages without a final status",
        flags: &[
            value("--batch", "BATCH_ID", "only this batch"),
            value(
                "--since",
                "T",
                "instead: read Sinch's list of reports finished since T (RFC 3339 or YYYY-MM-DD)",
            ),
            value("--until", "T", "with --since: until T (default now)"),
            flag(
                "--all",
                None,
                "read Sinch's list from the oldest message without a final status until now",
            ),
        ],
    },
    CommandSpec {
        name: "feedback",
        argument: None,
        about: "tell Sinch a message was received (batches sent with --feedback)",
        flags: &[
            value("--message", "ID", "this message's recipient"),
            value(
                "--batch",
                "BATCH_ID",
                "recipients of this batch (every one, unless --to names some)",
            ),
            Flag {
                repeat: true,
                ..value("--to", "NUMBER", "with --batch: this recipient")
            },
        ],
    },
    CommandSpec {
        name: "messages",
        argument: None,
        about: "a page of messages, newest first",
        flags: &[
            BATCH,
            TO,
            REFERENCE,
            STATUS,
            FINAL,
            CODE,
            SINCE,
            UNTIL,
            STATUS_SINCE,
            STATUS_UNTIL,
            LIMIT,
            CURSOR,
            FORMAT_LIST,
        ],
    },
    CommandSpec {
        name: "inbound",
        argument: None,
        about: "a page of inbound messages (replies, STOP, HELP), newest first",
        flags: &[
            filter("--from", "NUMBER", "from", "sent by this number (digits)"),
            filter(
                "--to",
                "NUMBER",
                "to",
                "sent to this number of yours (digits)",
            ),
            filter("--since", "T", "since", "stored at or after T"),
            filter("--until", "T", "until", "stored before T (exclusive)"),
            LIMIT,
            CURSOR,
            FORMAT_LIST,
        ],
    },
    CommandSpec {
        name: "show",
        argument: Some("ID"),
        about: "one message with its status history",
        flags: &[FORMAT_TEXT],
    },
    CommandSpec {
        name: "export",
        argument: None,
        about: "every message that matches, streamed",
        flags: &[
            BATCH,
            TO,
            REFERENCE,
            STATUS,
            FINAL,
            CODE,
            SINCE,
            UNTIL,
            STATUS_SINCE,
            STATUS_UNTIL,
            value("--format", "ndjson|csv", "output format (default ndjson)"),
        ],
    },
    CommandSpec {
        name: "stats",
        argument: None,
        about: "counts by status, stale messages",
        flags: &[
            value(
                "--since",
                "T",
                "delivery times of messages created since T (default 24 h ago)",
            ),
            FORMAT_TEXT,
        ],
    },
    CommandSpec {
        name: "events",
        argument: None,
        about: "the event log: what was stored, in order; --follow for live",
        flags: &[
            filter(
                "--after",
                "SEQ",
                "after",
                "events after this seq (default 0: from the oldest kept)",
            ),
            filter(
                "--types",
                "T1,T2",
                "types",
                "only these types (message.registered, message.status_updated, ...)",
            ),
            flag(
                "--follow",
                None,
                "keep printing events as they are stored, until interrupted",
            ),
            value("--format", "ndjson|table", "output format (default ndjson)"),
        ],
    },
    CommandSpec {
        name: "backup",
        argument: None,
        about: "a consistent copy of the database, also while the daemon runs",
        flags: &[Flag {
            required: true,
            ..value("--to", "FILE", "where to write it (must not exist)")
        }],
    },
    CommandSpec {
        name: "sign",
        argument: None,
        about: "print a curl command that posts a body with correct Sinch signature headers",
        flags: &[
            value("--file", "BODY.json", "the body (default: standard input)"),
            value(
                "--secret",
                "S",
                "the secret (default: the configured or generated one)",
            ),
            value(
                "--url",
                "URL",
                "where to post (default: this daemon's callback path)",
            ),
            value("--nonce", "N", "the nonce (default: a fresh one)"),
            value("--timestamp", "T", "Unix seconds (default: now)"),
        ],
    },
    CommandSpec {
        name: "check-config",
        argument: None,
        about: "print the effective configuration (secrets redacted) and where each value came from",
        flags: &[],
    },
    CommandSpec {
        name: "check-db",
        argument: None,
        about: "check the database's indexes (daemon stopped)",
        flags: &[],
    },
];

pub fn command(name: &str) -> Option<&'static CommandSpec> {
    COMMANDS.iter().find(|c| c.name == name)
}

impl CommandSpec {
    /// Every flag this command takes: its own, then the common ones.
    pub fn all_flags(&self) -> impl Iterator<Item = &'static Flag> + use<> {
        self.flags.iter().chain(COMMON_FLAGS)
    }

    pub fn takes(&self, long: &str) -> Option<&'static Flag> {
        self.all_flags().find(|f| f.long == long)
    }
}

/// A flag by name in any command, for reading its value before the
/// command is known (flags may come first).
pub fn any_flag(long: &str) -> Option<&'static Flag> {
    COMMANDS
        .iter()
        .flat_map(|c| c.flags)
        .chain(COMMON_FLAGS)
        .find(|f| f.long == long)
}

/// Every flag's `--name`, for suggesting one.
pub fn every_flag_name() -> impl Iterator<Item = &'static str> {
    COMMANDS
        .iter()
        .flat_map(|c| c.flags)
        .chain(COMMON_FLAGS)
        .map(|f| f.long)
}

pub fn short_flag(short: char) -> Option<&'static Flag> {
    COMMON_FLAGS.iter().find(|f| f.short == Some(short))
}
