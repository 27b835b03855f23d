//! The connection driver: moves bytes and time between one client socket and its
//! `smtp::Session`, and carries out what the session's events ask for (policy
//! hooks, the upstream transaction). It makes no protocol decision of its own.

use std::borrow::Cow;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use futures_lite::{AsyncRead, AsyncReadExt, AsyncWriteExt, FutureExt};
use glommio::net::TcpStream;
use glommio::timer::Timer;

use super::content;
use super::proxy_header;
use super::reverse_dns::ReverseLookup;
use super::screening::{self, Screened, Screening};
use super::shard::{Overload, Shard};
use super::txlog::{self, TransactionRecord};
use crate::config::RblAction;
use crate::policy::{Action, ClientInfo, Judgement};
use crate::quarantine::{self, Keeper, StoreError};
use crate::rbl::GreyDecision;
use crate::relay::{ClientIdentity, Lease, SendError, Trace, received_header, rfc5322_date};
use crate::smtp::client::UpstreamReply;
use crate::smtp::reply::{Reply, Status, UpstreamStage, mapped_upstream, table};
use crate::smtp::{Event, ForwardPath, RcptParams, ReversePath, Session, Transaction, Verdict};
use crate::tls::Stream;

/// What woke the driver while it waited for the client.
enum Wake {
    /// The client sent octets (already fed to the session), or closed (0).
    Read(std::io::Result<usize>),
    /// A deadline passed: session timeout, shutdown grace or upstream keepalive.
    Timer,
    /// The shard is stopping.
    Stop,
}

/// Per-connection state the shell keeps beside the session.
struct Driver {
    shard: Rc<Shard>,
    /// The client as the policy hooks see it (address, HELO once given).
    client: ClientInfo,
    /// The upstream connection of the open transaction.
    lease: Option<Lease>,
    /// Message octets this connection has counted against the shard's budget.
    counted: usize,
    /// When the open transaction's MAIL was accepted.
    transaction_started: Option<Instant>,
    /// Set once the shard began stopping: when to give up on the transaction.
    drain_deadline: Option<Instant>,
    /// DNSBL/DNSWL triage of the client, started at once.
    screening: Screening,
    /// The client's reverse DNS, started at once.
    reverse: ReverseLookup,
}

/// Serves one client connection to its end.
pub async fn drive(shard: Rc<Shard>, tcp: TcpStream) {
    let Ok(peer) = tcp.peer_addr() else { return };
    let _ = tcp.set_nodelay(true);
    let mut stream = Stream::Plain(tcp);
    // Behind a trusted load balancer the real client comes first, in a PROXY
    // header; every later check, limit and log line uses it.
    let (client, early) = if proxy_header::is_trusted(
        &shard.config.server.proxy_protocol_from,
        peer.ip(),
    ) {
        match proxy_header::read(&mut stream, shard.config.timeouts.proxy_header.0).await {
            Ok(received) => (received.client.unwrap_or(peer), received.rest),
            Err(e) => {
                tracing::info!(peer = %peer, error = %e, "connection dropped before the banner");
                return;
            }
        }
    } else {
        (peer, Vec::new())
    };
    let slot = shard.admit(client.ip()).await;
    // The lookups run while the banner goes out and the client says EHLO
    // (none for a connection refused for overload).
    let triage = shard.triage.as_ref().filter(|_| slot.is_ok());
    let mut screening = Screening::start(&shard.config, triage, client.ip());
    let rbl = &shard.config.rbl;
    let reverse_resolver = shard.reverse_dns.as_ref().filter(|_| {
        slot.is_ok() && !(rbl.skip_loopback && client.ip().to_canonical().is_loopback())
    });
    let reverse = ReverseLookup::start(reverse_resolver, client.ip(), rbl.budget.0);
    let mut session = Session::new(shard.session_config(), Instant::now());
    // SMTP that came behind a PROXY header was sent before any banner.
    let mut talked_first = !early.is_empty();
    if talked_first {
        session.receive(Instant::now(), &early);
    }
    if let Some(wait) = screening
        .pregreet_wait()
        .filter(|_| !talked_first && slot.is_ok())
    {
        talked_first = early_talk(&mut stream, &mut session, wait).await;
    }
    if talked_first {
        screening.talked_first();
    }
    let mut driver = Driver {
        client: ClientInfo {
            addr: client,
            helo: None,
            tls: None,
        },
        shard: Rc::clone(&shard),
        lease: None,
        counted: 0,
        transaction_started: None,
        drain_deadline: None,
        screening,
        reverse,
    };
    let admitted = slot.as_ref().map(|_| ()).map_err(|e| *e);
    let mut slot = slot.ok();
    loop {
        while let Some(event) = session.poll_event() {
            if event == Event::StartTls {
                let verdict = Box::pin(driver.start_tls(&mut session, &mut stream)).await;
                session.decide(Instant::now(), verdict);
            } else {
                driver.handle(&mut session, event, admitted).await;
            }
        }
        driver.count_buffered(session.buffered());
        if session.is_closed()
            && let Some(slot) = slot.take()
        {
            // Uncounted before the last reply goes out: a client that has read
            // it may connect again at once, whichever shard takes it.
            slot.release().await;
        }
        if !driver.flush(&mut session, &mut stream).await || session.is_closed() {
            break;
        }
        match driver.wait(&mut session, &mut stream).await {
            Wake::Read(Ok(0)) | Wake::Read(Err(_)) => break,
            Wake::Read(Ok(_)) => {}
            Wake::Stop => {
                driver.drain_deadline =
                    Some(Instant::now() + shard.config.timeouts.shutdown_grace.0);
                session.begin_shutdown();
            }
            Wake::Timer => Box::pin(driver.on_timer(&mut session)).await,
        }
    }
    Box::pin(driver.finish()).await;
    if let Some(slot) = slot {
        slot.release().await;
    }
}

impl Driver {
    /// Acts on one event. The upstream conversations behind an event are boxed:
    /// their futures are large and short-lived, and unboxed they would sit in
    /// every connection's task, idle ones included.
    async fn handle(
        &mut self,
        session: &mut Session,
        event: Event,
        admitted: Result<(), Overload>,
    ) {
        let verdict = match event {
            Event::Connect => match admitted {
                Err(Overload::Shard) => {
                    self.shard.count(|m| m.connections_refused.shard_full += 1);
                    Verdict::Disconnect(table::shard_full())
                }
                Err(Overload::Client) => {
                    self.shard
                        .count(|m| m.connections_refused.client_limit += 1);
                    Verdict::Disconnect(table::too_many_from_ip())
                }
                Err(Overload::ClientRate) => {
                    self.shard.count(|m| m.connections_refused.client_rate += 1);
                    Verdict::Disconnect(table::too_fast_from_ip())
                }
                Ok(()) => {
                    self.shard.count(|m| m.connections_accepted += 1);
                    Box::pin(self.on_connect()).await
                }
            },
            Event::Helo { name, .. } => {
                let verdict = self.shard.hooks.helo(&self.client, &name);
                if verdict == Verdict::Continue {
                    self.client.helo = Some(name);
                }
                verdict
            }
            Event::Mail(sender, params) => {
                let verdict = self.shard.hooks.mail(&self.client, &sender, &params);
                if verdict == Verdict::Continue {
                    self.transaction_started = Some(Instant::now());
                }
                verdict
            }
            Event::Rcpt(path, params) => Box::pin(self.on_rcpt(session, &path, &params)).await,
            Event::Data => {
                let budget = usize::try_from(self.shard.config.limits.data_buffer_per_shard.0)
                    .unwrap_or(usize::MAX);
                if self.shard.buffered.get() >= budget {
                    Verdict::Refuse(table::buffer_full())
                } else {
                    Verdict::Continue
                }
            }
            Event::Message(body) => {
                self.count_buffered(session.buffered() + body.len());
                Box::pin(self.on_message(session, body)).await
            }
            Event::Reset => {
                Box::pin(self.end_upstream_transaction()).await;
                return;
            }
            Event::Close => {
                // Pooled before the last reply goes out, like the connection
                // slot: a client that has read it may come back at once and
                // should find the upstream connection free again.
                Box::pin(self.end_upstream_transaction()).await;
                return;
            }
            Event::StartTls => return,
        };
        session.decide(Instant::now(), verdict);
    }

    /// Writes STARTTLS's 220, then runs the handshake in its time bound. A
    /// failure leaves the stream gone and closes the session.
    async fn start_tls(&mut self, session: &mut Session, stream: &mut Stream) -> Verdict {
        let failed = Verdict::Disconnect(table::idle_timeout());
        let shard = Rc::clone(&self.shard);
        let Some(tls) = shard.tls.as_ref() else {
            return failed;
        };
        if !self.flush(session, stream).await {
            return failed;
        }
        let Some(tcp) = stream.take_plain() else {
            return failed;
        };
        let handshake = async { Some(tls.acceptor().accept(tcp).await) };
        let limit = async {
            Timer::new(self.shard.config.timeouts.tls_handshake.0).await;
            None
        };
        match handshake.or(limit).await {
            Some(Ok(tls)) => {
                *stream = Stream::Tls(Box::new(futures_rustls::TlsStream::Server(tls)));
                self.client.tls = stream.tls();
                Verdict::Continue
            }
            Some(Err(e)) => {
                tracing::info!(client = %self.client.addr.ip(), error = %e, "TLS handshake failed");
                failed
            }
            None => {
                tracing::info!(client = %self.client.addr.ip(), "TLS handshake timed out");
                failed
            }
        }
    }

    async fn on_connect(&mut self) -> Verdict {
        if self.shard.config.rbl.action == RblAction::Drop {
            let client = self.client.addr.ip();
            match self.screening.outcome().await {
                Screened::Pass => {}
                Screened::Reject { by, .. } => {
                    let refusal = screening::refusal(554, client, by);
                    self.shard.count(|m| m.connections_refused.triage += 1);
                    return Verdict::Refuse(refusal);
                }
                Screened::Defer { .. } => {
                    self.shard.count(|m| m.connections_refused.triage += 1);
                    return Verdict::Disconnect(screening::deferral(421, client));
                }
            }
        }
        let verdict = self.shard.hooks.connect(&self.client);
        if verdict != Verdict::Continue || !self.shard.config.upstream.fail_closed {
            return verdict;
        }
        match self.shard.pool.acquire(None).await {
            Ok(lease) => {
                lease.release();
                Verdict::Continue
            }
            Err(_) => Verdict::Disconnect(table::upstream_unreachable_at_connect()),
        }
    }

    async fn on_rcpt(
        &mut self,
        session: &Session,
        path: &ForwardPath,
        params: &RcptParams,
    ) -> Verdict {
        if let Some(refused) = self.enforce_screening(session, path).await {
            return refused;
        }
        let verdict = self.shard.hooks.rcpt(&self.client, path, params);
        if verdict != Verdict::Continue {
            return verdict;
        }
        if self.other_policy(session, path) {
            return Verdict::Refuse(table::other_policy());
        }
        if let Some(deferred) = self.greylist(session, path).await {
            return deferred;
        }
        let Some(transaction) = session.transaction() else {
            return Verdict::Refuse(table::need_mail());
        };
        let identity = self.identity(session);
        let reply = if let Some(lease) = self.lease.as_mut() {
            let reply = lease.conn().rcpt(path, params).await;
            if reply.is_err() {
                self.lease = None;
            }
            reply.map_err(|e| Verdict::Refuse(e.reply()))
        } else {
            self.open_upstream(transaction, &identity, Some((path, params)))
                .await
                .map(|r| r.expect("open_upstream answers the extra recipient"))
        };
        match reply {
            Ok(reply) => {
                let mapped = mapped_upstream(reply.code, reply.status, UpstreamStage::Rcpt);
                if reply.is_positive() {
                    Verdict::ContinueWith(mapped)
                } else {
                    Verdict::Refuse(mapped)
                }
            }
            Err(verdict) => verdict,
        }
    }

    /// Opens the upstream transaction for `transaction`: takes a connection
    /// (retrying once on a fresh one if a pooled one was dead), and sends XFORWARD,
    /// MAIL, the recipients already accepted (a replay, after the upstream
    /// connection was lost mid-transaction) and `extra`, pipelined. Returns the
    /// upstream's reply to `extra`.
    async fn open_upstream(
        &mut self,
        transaction: &Transaction,
        identity: &ClientIdentity,
        extra: Option<(&ForwardPath, &RcptParams)>,
    ) -> Result<Option<UpstreamReply>, Verdict> {
        let pool = Rc::clone(&self.shard.pool);
        let announce = pool.settings().announce;
        let recipients: Vec<(&ForwardPath, &RcptParams)> = transaction
            .recipients
            .iter()
            .map(|(p, r)| (p, r))
            .chain(extra)
            .collect();
        let (sender, params) = (&transaction.sender, &transaction.params);
        let mut lease = pool
            .acquire(Some(identity))
            .await
            .map_err(|e| Verdict::Refuse(e.reply()))?;
        let mut result = lease
            .conn()
            .begin(announce, identity, sender, params, &recipients)
            .await;
        if result.is_err() && lease.is_reused() {
            // Closed first: at the connection bound it holds the only slot.
            drop(lease);
            lease = pool
                .connect()
                .await
                .map_err(|e| Verdict::Refuse(e.reply()))?;
            result = lease
                .conn()
                .begin(announce, identity, sender, params, &recipients)
                .await;
        }
        let (mail, mut replies) = result.map_err(|e| Verdict::Refuse(e.reply()))?;
        self.lease = Some(lease);
        if !mail.is_positive() {
            self.end_upstream_transaction().await;
            return Err(Verdict::Refuse(mapped_upstream(
                mail.code,
                mail.status,
                UpstreamStage::Mail,
            )));
        }
        let extra_reply = extra.and_then(|_| replies.pop());
        if !replies.iter().all(UpstreamReply::is_positive) {
            // The upstream now refuses a recipient it took before: the client must
            // retry the whole transaction rather than lose one recipient.
            self.end_upstream_transaction().await;
            return Err(Verdict::Refuse(table::upstream_lost()));
        }
        Ok(extra_reply)
    }

    async fn on_message(&mut self, session: &Session, body: Vec<u8>) -> Verdict {
        let Some(transaction) = session.transaction() else {
            return Verdict::Refuse(table::need_mail());
        };
        let queue_id = self.shard.next_queue_id();
        let hook = self.shard.hooks.message(&self.client, &body);
        let class = self
            .shard
            .policies
            .class(self.transaction_class(transaction));
        let judgement = match &self.shard.content {
            Some(content) => {
                let sender = match &transaction.sender {
                    ReversePath::Null => String::new(),
                    ReversePath::Mailbox(mailbox) => mailbox.to_string(),
                };
                let envelope = content::Envelope {
                    sender: &sender,
                    helo: session.helo(),
                    reverse: self.reverse.outcome().await,
                    client_hits: self.screening.hits(),
                };
                Some(
                    content
                        .judge(&body, &envelope, self.shard.triage.as_ref(), class)
                        .await,
                )
            }
            None => None,
        };
        let refusal = judgement.as_ref().and_then(|j| match j.action {
            Action::Reject if j.forced_by.as_deref() == Some("SENDER_BLOCKED") => {
                Some(Verdict::Refuse(table::sender_blocked()))
            }
            Action::Reject => Some(Verdict::Refuse(table::content_rejected())),
            Action::Tempfail => Some(Verdict::Refuse(table::content_deferred())),
            Action::Discard => Some(Verdict::ContinueWith(Reply::owned(
                250,
                Some(Status(2, 0, 0)),
                format!("Ok: queued as {queue_id}"),
            ))),
            Action::Accept | Action::Tag | Action::Quarantine => None,
        });
        // A quarantine verdict is kept, not relayed, when there is a store.
        let quarantining = self.shard.quarantine.is_some()
            && judgement
                .as_ref()
                .is_some_and(|j| j.action == Action::Quarantine);
        let keeper = self.shard.quarantine.clone().filter(|_| quarantining);
        // Ok: the upstream's end-of-data reply; Err: our own verdict.
        let outcome = if hook != Verdict::Continue {
            self.end_upstream_transaction().await;
            Err(hook)
        } else if let Some(refusal) = refusal {
            self.end_upstream_transaction().await;
            Err(refusal)
        } else {
            // What goes on: our Received header and the verdict's fields,
            // then the message; to the upstream, or kept as it would have
            // gone there.
            let mut header = self.received(session, transaction, &queue_id).into_bytes();
            let out = judgement
                .as_ref()
                .map(|judgement| content::outgoing(&body, judgement, class));
            let message = match out {
                Some(out) => {
                    header.extend_from_slice(&out.fields);
                    out.message
                }
                None => Cow::Borrowed(&body[..]),
            };
            match (keeper, &judgement) {
                (Some(keeper), Some(judgement)) => {
                    self.end_upstream_transaction().await;
                    let mut kept = header;
                    kept.extend_from_slice(&message);
                    Err(self
                        .quarantine(&keeper, session, transaction, &queue_id, judgement, kept)
                        .await)
                }
                _ => {
                    let identity = self.identity(session);
                    self.deliver(transaction, &identity, &header, &message)
                        .await
                }
            }
        };
        let verdict = match &outcome {
            Ok(reply) if reply.is_positive() => {
                let status =
                    mapped_upstream(reply.code, reply.status, UpstreamStage::Message).status;
                Verdict::ContinueWith(Reply::owned(
                    reply.code,
                    status,
                    format!("Ok: queued as {queue_id}"),
                ))
            }
            Ok(reply) => Verdict::Refuse(mapped_upstream(
                reply.code,
                reply.status,
                UpstreamStage::Message,
            )),
            Err(verdict) => verdict.clone(),
        };
        let discarded = judgement
            .as_ref()
            .is_some_and(|j| j.action == Action::Discard);
        self.shard.count(|m| {
            let outcomes = &mut m.transactions;
            match &verdict {
                Verdict::ContinueWith(_) if discarded => outcomes.discarded += 1,
                Verdict::ContinueWith(_) if quarantining => outcomes.quarantined += 1,
                Verdict::Continue | Verdict::ContinueWith(_) => outcomes.relayed += 1,
                Verdict::Refuse(reply) if reply.is_transient() => outcomes.tempfail += 1,
                Verdict::Refuse(_) => outcomes.rejected += 1,
                Verdict::Disconnect(_) => outcomes.disconnected += 1,
            }
        });
        txlog::transaction(&TransactionRecord {
            queue_id: &queue_id,
            client: self.client.addr,
            helo: session.helo(),
            tls: self.client.tls.as_ref(),
            sender: &transaction.sender,
            recipients: &transaction.recipients,
            size: body.len(),
            verdict: &verdict,
            upstream: outcome.as_ref().ok(),
            duration: self
                .transaction_started
                .take()
                .map_or(Duration::ZERO, |t| t.elapsed()),
            rules: &judgement.as_ref().map_or_else(
                || self.screening.rules().to_string(),
                Judgement::explanation,
            ),
            judgement: judgement.as_ref(),
            quarantined: quarantining,
        });
        verdict
    }

    /// Keeps a message whose verdict is `quarantine` (`kept`: as it would
    /// have gone upstream, our headers included) and answers for it: 250
    /// only once it is durable; 451 4.3.1 when the store is full, so the
    /// client retries and nothing is lost.
    async fn quarantine(
        &self,
        keeper: &Rc<Keeper>,
        session: &Session,
        transaction: &Transaction,
        queue_id: &str,
        judgement: &Judgement,
        kept: Vec<u8>,
    ) -> Verdict {
        let (sender, mail, recipients) = quarantine::record::envelope_parts(
            &transaction.sender,
            &transaction.params,
            &transaction.recipients,
        );
        let summary = quarantine::record::HeaderSummary::of(&kept);
        let record = quarantine::Record {
            id: keeper.id_for(queue_id),
            queue_id: queue_id.to_string(),
            received_at: quarantine::service::now(),
            sender,
            recipients,
            mail,
            message_id: summary.message_id,
            subject: summary.subject,
            from: summary.from,
            score: judgement.score,
            action: judgement.action.name().to_string(),
            rules: quarantine::record::hits(judgement),
            client: self.client.addr.ip(),
            client_port: self.client.addr.port(),
            helo: session.helo().map(str::to_string),
            size: kept.len() as u64,
        };
        let id = record.id.clone();
        match keeper.keep(record, kept).await {
            Ok(()) => {
                tracing::info!(queue_id = %queue_id, quarantine_id = %id, "message quarantined");
                Verdict::ContinueWith(Reply::owned(
                    250,
                    Some(Status(2, 0, 0)),
                    format!("Ok: queued as {queue_id}"),
                ))
            }
            Err(StoreError::Full) => {
                tracing::warn!(queue_id = %queue_id, "quarantine full; message deferred");
                Verdict::Refuse(table::quarantine_full())
            }
            Err(e) => {
                tracing::error!(queue_id = %queue_id, error = %e, "quarantine write failed; message deferred");
                Verdict::Refuse(table::quarantine_failed())
            }
        }
    }

    /// The policy class the transaction's recipients share (the default
    /// before any was accepted).
    fn transaction_class(&self, transaction: &Transaction) -> usize {
        match transaction.recipients.first() {
            Some((ForwardPath::Mailbox(mailbox), _)) => {
                self.shard.policies.class_of(&mailbox.to_string())
            }
            _ => 0,
        }
    }

    /// Streams the message to the upstream. A connection that died while the
    /// client uploaded is replaced once, as long as none of the message went out
    /// on it; a failure after content went out is never retried (the upstream may
    /// already hold the message), so the client gets a 4xx and retries itself.
    async fn deliver(
        &mut self,
        transaction: &Transaction,
        identity: &ClientIdentity,
        header: &[u8],
        body: &[u8],
    ) -> Result<UpstreamReply, Verdict> {
        let data_timeout = self.shard.config.upstream.data_timeout.0;
        for attempt in 0..2 {
            if self
                .lease
                .as_mut()
                .is_some_and(|l| !l.conn().is_usable(Instant::now()))
            {
                self.lease = None;
            }
            if self.lease.is_none() {
                self.open_upstream(transaction, identity, None).await?;
            }
            let lease = self.lease.as_mut().expect("open_upstream leaves a lease");
            match lease.conn().send_message(header, body, data_timeout).await {
                Ok(reply) if reply.is_positive() => {
                    self.lease.take().expect("still leased").release();
                    return Ok(reply);
                }
                Ok(reply) => {
                    self.end_upstream_transaction().await;
                    return Ok(reply);
                }
                Err(SendError::BeforeContent(_)) if attempt == 0 => self.lease = None,
                Err(e) => {
                    self.lease = None;
                    return Err(Verdict::Refuse(e.into_inner().reply()));
                }
            }
        }
        Err(Verdict::Refuse(table::upstream_lost()))
    }

    /// With `[rbl] action = "enforce"`, a refused client's recipients are
    /// refused one by one (postmaster and abuse excepted, so a listed sender
    /// can still reach whoever can delist it), and each attempt is logged
    /// with its envelope: what postscreen's enforce is for.
    async fn enforce_screening(
        &mut self,
        session: &Session,
        path: &ForwardPath,
    ) -> Option<Verdict> {
        if self.shard.config.rbl.action != RblAction::Enforce {
            return None;
        }
        let client = self.client.addr.ip();
        let refusal = match self.screening.outcome().await {
            Screened::Pass => return None,
            _ if is_role_address(path) => return None,
            Screened::Reject { by, rules } => {
                let refusal = screening::refusal(550, client, by);
                self.shard.count(|m| m.recipients.triage_refused += 1);
                tracing::info!(client = %client, helo = ?self.client.helo, from = ?session.transaction().map(|t| t.sender.to_string()), to = %path, rules = %rules, reply = %refusal, "recipient refused by client triage");
                refusal
            }
            Screened::Defer { failures } => {
                let deferral = screening::deferral(450, client);
                self.shard.count(|m| m.recipients.triage_deferred += 1);
                tracing::info!(client = %client, to = %path, failures = %failures, reply = %deferral, "recipient deferred by client triage");
                deferral
            }
        };
        Some(Verdict::Refuse(refusal))
    }

    /// True when `path` is of another policy class than the recipients the
    /// transaction holds: one verdict must fit every recipient of a message.
    fn other_policy(&self, session: &Session, path: &ForwardPath) -> bool {
        let policies = &self.shard.policies;
        let class = |path: &ForwardPath| match path {
            ForwardPath::Mailbox(mailbox) => policies.class_of(&mailbox.to_string()),
            ForwardPath::Postmaster(_) => 0,
        };
        session
            .transaction()
            .and_then(|t| t.recipients.first())
            .is_some_and(|(first, _)| class(first) != class(path))
    }

    /// With `[greylist] enabled`, the first attempt of an unknown triplet is
    /// deferred (451 4.7.1); allowlisted clients, postmaster and abuse are
    /// spared.
    async fn greylist(&mut self, session: &Session, path: &ForwardPath) -> Option<Verdict> {
        let greylist = Rc::clone(self.shard.greylist.as_ref()?);
        let ForwardPath::Mailbox(recipient) = path else {
            return None;
        };
        if is_role_address(path) {
            return None;
        }
        self.screening.outcome().await;
        if self.screening.allowlisted() {
            return None;
        }
        let sender = match &session.transaction()?.sender {
            ReversePath::Null => String::new(),
            ReversePath::Mailbox(mailbox) => mailbox.to_string(),
        };
        let client = self.client.addr.ip();
        match greylist
            .check(client, &sender, &recipient.to_string())
            .await
        {
            GreyDecision::Pass => None,
            GreyDecision::Defer { retry_in } => {
                tracing::info!(client = %client, from = %sender, to = %recipient, retry_in = ?retry_in, "recipient greylisted");
                self.shard.count(|m| m.recipients.greylisted += 1);
                Some(Verdict::Refuse(table::greylisted()))
            }
        }
    }

    /// Ends the upstream side of an unfinished transaction and pools the connection.
    async fn end_upstream_transaction(&mut self) {
        if let Some(mut lease) = self.lease.take()
            && lease.conn().rset().await.is_ok()
        {
            lease.release();
        }
    }

    fn identity(&self, session: &Session) -> ClientIdentity {
        ClientIdentity {
            addr: self.client.addr,
            helo: session.helo().map(str::to_string),
            // Postfix's XFORWARD takes only these two names.
            protocol: if session.is_esmtp() { "ESMTP" } else { "SMTP" },
        }
    }

    fn received(&self, session: &Session, transaction: &Transaction, queue_id: &str) -> String {
        let single = match transaction.recipients.as_slice() {
            [(path, _)] => Some(path.to_string()),
            _ => None,
        };
        received_header(&Trace {
            helo: session.helo(),
            client: self.client.addr.ip(),
            tls: self.client.tls.as_ref(),
            hostname: &self.shard.config.server.hostname,
            protocol: protocol_name(
                session.is_esmtp(),
                transaction.params.smtputf8,
                session.is_tls(),
            ),
            id: queue_id,
            single_recipient: single.as_deref(),
            date: &rfc5322_date(SystemTime::now()),
        })
    }

    /// Writes pending replies; false when the client is gone or will not read.
    async fn flush(&mut self, session: &mut Session, stream: &mut Stream) -> bool {
        let pending = session.transmit().len();
        if pending == 0 {
            return true;
        }
        let limit = self.shard.config.timeouts.command.0;
        // TLS holds written records until flushed; plain TCP's flush is free.
        let write = async {
            stream.write_all(session.transmit()).await.is_ok() && stream.flush().await.is_ok()
        };
        let timeout = async {
            Timer::new(limit).await;
            false
        };
        let written = write.or(timeout).await;
        session.transmitted(pending);
        written
    }

    /// Waits for client octets (fed straight into the session through the
    /// shard's shared buffer), a deadline, or the shard stopping.
    async fn wait(&mut self, session: &mut Session, stream: &mut Stream) -> Wake {
        let now = Instant::now();
        session.set_under_stress(now, self.shard.under_stress());
        let deadline = [
            session.poll_timeout(),
            self.drain_deadline,
            self.keepalive_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        let shard = Rc::clone(&self.shard);
        // Nothing is read while the session holds a reply back (tarpit): the
        // client waits, and its pipelined commands wait in the kernel.
        let reading = session.wants_input();
        let read = futures_lite::future::poll_fn(|cx| {
            if !reading {
                return Poll::Pending;
            }
            let mut scratch = shard.scratch.borrow_mut();
            match Pin::new(&mut *stream).poll_read(cx, &mut scratch) {
                Poll::Ready(Ok(n)) => {
                    session.receive(Instant::now(), &scratch[..n]);
                    Poll::Ready(Wake::Read(Ok(n)))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Wake::Read(Err(e))),
                Poll::Pending => Poll::Pending,
            }
        });
        let timer = async {
            match deadline {
                Some(d) => Timer::new(d.saturating_duration_since(now)).await,
                None => futures_lite::future::pending::<Instant>().await,
            };
            Wake::Timer
        };
        let draining = self.drain_deadline.is_some();
        let stop = async {
            if draining {
                futures_lite::future::pending::<()>().await;
            }
            let _ = shard.stopping.acquire(1).await;
            Wake::Stop
        };
        read.or(timer).or(stop).await
    }

    /// When the open upstream transaction needs a NOOP to stay alive.
    fn keepalive_at(&mut self) -> Option<Instant> {
        let interval = self.shard.config.upstream.keepalive_interval.0;
        self.lease.as_mut().map(|l| l.conn().last_used() + interval)
    }

    async fn on_timer(&mut self, session: &mut Session) {
        let now = Instant::now();
        if self.drain_deadline.is_some_and(|d| now >= d) {
            session.abort(table::shutting_down());
            return;
        }
        if self.keepalive_at().is_some_and(|k| now >= k)
            && let Some(lease) = self.lease.as_mut()
            && lease.conn().noop().await.is_err()
        {
            // Lost: end of data opens a new upstream transaction.
            self.lease = None;
        }
        session.handle_timeout(now);
    }

    fn count_buffered(&mut self, now_buffered: usize) {
        let total = self.shard.buffered.get() - self.counted + now_buffered;
        self.shard.buffered.set(total);
        self.counted = now_buffered;
    }

    async fn finish(&mut self) {
        self.end_upstream_transaction().await;
        self.count_buffered(0);
    }
}

/// Holds the banner for `wait`, reading what the client sends meanwhile into
/// the session (answered after the banner, like any pipelined input); true
/// when it sent anything.
async fn early_talk(stream: &mut Stream, session: &mut Session, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    let read = async { stream.read(&mut buf).await.ok() };
    let quiet = async {
        Timer::new(wait).await;
        None
    };
    match read.or(quiet).await {
        Some(n) if n > 0 => {
            session.receive(Instant::now(), &buf[..n]);
            true
        }
        _ => false,
    }
}

/// `postmaster` and `abuse` in any domain: the addresses a listed sender
/// must still reach (RFC 2142; postscreen's enforce lets them through too).
fn is_role_address(path: &ForwardPath) -> bool {
    match path {
        ForwardPath::Postmaster(_) => true,
        ForwardPath::Mailbox(mailbox) => {
            let local = mailbox.local_unquoted();
            local.eq_ignore_ascii_case("postmaster") || local.eq_ignore_ascii_case("abuse")
        }
    }
}

/// The protocol name for Received and XFORWARD (RFC 3848: an S for TLS).
fn protocol_name(esmtp: bool, smtputf8: bool, tls: bool) -> &'static str {
    match (esmtp, smtputf8, tls) {
        (false, _, false) => "SMTP",
        (false, _, true) => "SMTPS",
        (true, false, false) => "ESMTP",
        (true, false, true) => "ESMTPS",
        (true, true, false) => "UTF8SMTP",
        (true, true, true) => "UTF8SMTPS",
    }
}
