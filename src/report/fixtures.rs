//! Log lines captured from `ringwall run` (one shard, a Spamhaus ZEN
//! look-alike listing 127.0.0.66, `[scoring] quarantine = 2000`), for the
//! tests: GTUBE scores 1000 there, so it is tagged, not refused.

/// Text: a clean message.
pub(super) const TEXT_CLEAN: &str = "2026-11-27T10:19:00.261206Z  INFO ringwall::transaction: queue_id=6B09590A00000001 client=127.0.0.55 helo=vm tls=none from=<a@sender.example> to=<u@example.net> size=220 verdict=relayed reply=\"250 2.0.0 Ok: queued as 6B09590A00000001\" upstream_reply=\"250 2.0.0 Ok: queued\" upstream_id= duration_ms=3 score=1.0 action=accept rules=\"HELO_NOT_FQDN=1.0\"";

/// Text: GTUBE, tagged, to two recipients.
pub(super) const TEXT_GTUBE: &str = "2026-11-27T10:19:00.300812Z  INFO ringwall::transaction: queue_id=6B09590A00000002 client=127.0.0.55 helo=vm tls=none from=<b@Spam.Example> to=<u@example.net>,<v@example.net> size=315 verdict=relayed reply=\"250 2.0.0 Ok: queued as 6B09590A00000002\" upstream_reply=\"250 2.0.0 Ok: queued\" upstream_id= duration_ms=1 score=1001.0 action=tag rules=\"GTUBE=1000.0,HELO_NOT_FQDN=1.0\"";

/// Text: a bounce (null sender).
pub(super) const TEXT_BOUNCE: &str = "2026-11-27T10:19:00.343457Z  INFO ringwall::transaction: queue_id=6B09590A00000003 client=127.0.0.55 helo=vm tls=none from=<> to=<u@example.net> size=241 verdict=relayed reply=\"250 2.0.0 Ok: queued as 6B09590A00000003\" upstream_reply=\"250 2.0.0 Ok: queued\" upstream_id= duration_ms=1 score=1.0 action=accept rules=\"HELO_NOT_FQDN=1.0\"";

/// Text: triage's verdict on the listed client (not counted).
pub(super) const TEXT_TRIAGE: &str = "2026-11-27T10:19:00.384588Z  INFO ringwall::server::screening: client triage outcome=Reject { by: \"Spamhaus ZEN\", rules: \"RBL_ZEN_SBL=3.0\" } score=3.0 rules=RBL_ZEN_SBL=3.0";

/// Text: its recipient refused at RCPT.
pub(super) const TEXT_REFUSED: &str = "2026-11-27T10:19:00.384631Z  INFO ringwall::server::connection: recipient refused by client triage client=127.0.0.66 helo=Some(\"vm\") from=Some(\"<c@sender.example>\") to=<u@example.net> rules=RBL_ZEN_SBL=3.0 reply=550 5.7.1 Service unavailable; client [127.0.0.66] blocked using Spamhaus ZEN";

/// Text: a line of no interest to reports.
pub(super) const TEXT_STARTED: &str = "2026-11-27T10:18:50.792548Z  INFO ringwall::server: ringwall started shards=1 listen=[127.0.0.1:17125]";

/// JSON: a clean message.
pub(super) const JSON_CLEAN: &str = r#"{"timestamp":"2026-11-27T10:19:00.425517Z","level":"INFO","queue_id":"6B09591100000001","client":"127.0.0.55","helo":"vm","tls":"none","from":"<a@sender.example>","to":"<u@example.net>","size":220,"verdict":"relayed","reply":"\"250 2.0.0 Ok: queued as 6B09591100000001\"","upstream_reply":"\"250 2.0.0 Ok: queued\"","upstream_id":"","duration_ms":1,"score":"1.0","action":"accept","rules":"\"HELO_NOT_FQDN=1.0\"","target":"ringwall::transaction"}"#;

/// JSON: GTUBE, tagged.
pub(super) const JSON_GTUBE: &str = r#"{"timestamp":"2026-11-27T10:19:00.463802Z","level":"INFO","queue_id":"6B09591100000002","client":"127.0.0.55","helo":"vm","tls":"none","from":"<b@Spam.Example>","to":"<u@example.net>,<v@example.net>","size":315,"verdict":"relayed","reply":"\"250 2.0.0 Ok: queued as 6B09591100000002\"","upstream_reply":"\"250 2.0.0 Ok: queued\"","upstream_id":"","duration_ms":1,"score":"1001.0","action":"tag","rules":"\"GTUBE=1000.0,HELO_NOT_FQDN=1.0\"","target":"ringwall::transaction"}"#;

/// JSON: a recipient refused at RCPT.
pub(super) const JSON_REFUSED: &str = r#"{"timestamp":"2026-11-27T10:19:00.537862Z","level":"INFO","message":"recipient refused by client triage","client":"127.0.0.66","helo":"Some(\"vm\")","from":"Some(\"<c@sender.example>\")","to":"<u@example.net>","rules":"RBL_ZEN_SBL=3.0","reply":"550 5.7.1 Service unavailable; client [127.0.0.66] blocked using Spamhaus ZEN","target":"ringwall::server::connection"}"#;

/// JSON: a line of no interest to reports.
pub(super) const JSON_STOPPED: &str = r#"{"timestamp":"2026-11-27T10:19:01.070692Z","level":"INFO","message":"ringwall stopped","target":"ringwall::server"}"#;

/// The quarantine's audit line for a release, as its format is specified
/// (`action`, `id`, `who`, `recipients`); not captured: the quarantine is
/// not in this tree yet.
pub(super) const TEXT_RELEASE: &str = "2026-11-27T10:25:00.000001Z  INFO ringwall::audit: action=release id=Q7F3A9 who=alice recipients=<u@example.net>";
