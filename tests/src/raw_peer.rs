//! A hand-driven node for tests of the link protocol: it speaks the frames directly, so a
//! test can pair, replay a handshake, forge events or send garbage.

use futures_util::{SinkExt, StreamExt};
use kindred_protocol::peer::{Handshake, HaveEntry, Hello, PeerFrame, Role};
use kindred_protocol::{
    Audience, EventBody, EventId, EventPayload, MemberId, NodeId, NodeKeypair, NodeName,
    References, SignedEvent, Timestamp,
};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A websocket to a node's link endpoint, driven frame by frame.
pub struct RawPeer {
    /// The connection.
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Who this fake node is.
    pub keypair: NodeKeypair,
    /// Its name.
    pub name: NodeName,
    /// The link protocol version its hello gives (this crate's, unless a test plays an
    /// older node).
    pub protocol_version: u16,
}

/// What a handshake exchanged, for replay tests.
pub struct Recorded {
    /// Our hello.
    pub hello: Hello,
    /// Our proof.
    pub proof: PeerFrame,
}

impl RawPeer {
    /// Connects to `url`'s link endpoint as a new node named `name` with key seed `seed`.
    pub async fn connect(url: &str, seed: u8, name: &str) -> anyhow::Result<Self> {
        let ws = format!("{}/federation/v1/link", url.replacen("http", "ws", 1));
        let (socket, _) = tokio_tungstenite::connect_async(ws).await?;
        Ok(Self {
            socket,
            keypair: NodeKeypair::from_seed(&[seed; 32]),
            name: NodeName::new(name)?,
            protocol_version: kindred_protocol::PROTOCOL_VERSION,
        })
    }

    /// Sends a frame.
    pub async fn send(&mut self, frame: &PeerFrame) -> anyhow::Result<()> {
        self.send_bytes(frame.encode()).await
    }

    /// Sends raw bytes as one binary message.
    pub async fn send_bytes(&mut self, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.socket.send(Message::Binary(bytes.into())).await?;
        Ok(())
    }

    /// The next frame, or `None` when the node closed the connection.
    pub async fn recv(&mut self) -> Option<PeerFrame> {
        loop {
            let msg = tokio::time::timeout(std::time::Duration::from_secs(15), self.socket.next())
                .await
                .ok()??;
            match msg.ok()? {
                Message::Binary(b) => return PeerFrame::decode(&b).ok(),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Runs the handshake as initiator; returns what it sent (for replays) and the node's
    /// answer frames.
    pub async fn handshake(&mut self) -> anyhow::Result<Recorded> {
        let mut hello = Hello::new(&self.keypair, self.name.clone())?;
        hello.protocol_version = self.protocol_version;
        let state = Handshake::new(Role::Initiator, hello.clone());
        self.send(&PeerFrame::Hello(hello.clone())).await?;
        let Some(PeerFrame::Hello(theirs)) = self.recv().await else {
            anyhow::bail!("no hello from the node");
        };
        let Some(PeerFrame::Proof(proof)) = self.recv().await else {
            anyhow::bail!("no proof from the node");
        };
        state.verify(&theirs, &proof)?;
        let ours = PeerFrame::Proof(state.prove(&self.keypair, &theirs)?);
        self.send(&ours).await?;
        Ok(Recorded { hello, proof: ours })
    }

    /// Connects as a new node and pairs with the node through `invite_token` (a
    /// `kdpeer1_` federation invite); returns once the node has sent its have-vector.
    pub async fn paired(
        url: &str,
        invite_token: &str,
        seed: u8,
        name: &str,
    ) -> anyhow::Result<Self> {
        Self::paired_as(
            url,
            invite_token,
            seed,
            name,
            kindred_protocol::PROTOCOL_VERSION,
        )
        .await
    }

    /// As [`RawPeer::paired`], saying link protocol `version` in its hello (an older node).
    pub async fn paired_as(
        url: &str,
        invite_token: &str,
        seed: u8,
        name: &str,
        version: u16,
    ) -> anyhow::Result<Self> {
        let mut raw = Self::connect(url, seed, name).await?;
        raw.protocol_version = version;
        raw.handshake().await?;
        raw.send(&PeerFrame::Pair {
            secret: invite_secret(invite_token)?,
            address: String::new(),
        })
        .await?;
        let mut paired = false;
        while let Some(frame) = raw.recv().await {
            match frame {
                PeerFrame::Paired => paired = true,
                PeerFrame::HaveVector(_) if paired => return Ok(raw),
                _ => {}
            }
        }
        anyhow::bail!("the node did not pair")
    }

    /// Waits for the node to acknowledge replication batch `batch`, passing over its other
    /// frames; false if the link ended first.
    pub async fn acknowledged(&mut self, batch: u64) -> bool {
        while let Some(frame) = self.recv().await {
            if matches!(frame, PeerFrame::BatchAck { batch: b } if b == batch) {
                return true;
            }
        }
        false
    }

    /// This fake node's id.
    pub fn node_id(&self) -> NodeId {
        self.keypair.node_id()
    }

    /// `@local:<this node's name>`.
    pub fn member(&self, local: &str) -> MemberId {
        MemberId::new(local, &self.name).unwrap()
    }

    /// Signs an event from this fake node, made now.
    pub fn sign(
        &self,
        audience: Audience,
        author: &MemberId,
        refs: References,
        body: EventBody,
    ) -> SignedEvent {
        self.sign_at(audience, author, refs, body, Timestamp::now())
    }

    /// Signs an event from this fake node, dated `at`.
    pub fn sign_at(
        &self,
        audience: Audience,
        author: &MemberId,
        refs: References,
        body: EventBody,
        at: Timestamp,
    ) -> SignedEvent {
        let payload = EventPayload {
            origin: self.node_id(),
            created_at: at,
            audience,
            author: author.clone(),
            refs,
            body,
        };
        SignedEvent::sign(&payload, &self.keypair).unwrap()
    }

    /// Its announcement (`@node:<name>`) as shared-log event `seq`.
    pub fn announcement(&self, seq: u64, address: &str) -> SignedEvent {
        let body =
            EventBody::NodeAnnouncement(kindred_protocol::event::body::profile::NodeAnnouncement {
                address: address.to_owned(),
                organisation: format!("{} (raw)", self.name),
            });
        self.sign(
            Audience::Shared { seq },
            &self.member("node"),
            References::default(),
            body,
        )
    }

    /// Sends shared-log events as replication batch `batch` and waits for the node to
    /// acknowledge it (false if the link ended first).
    pub async fn replicate(&mut self, batch: u64, events: Vec<SignedEvent>) -> bool {
        self.send(&PeerFrame::EventBatch { batch, events })
            .await
            .unwrap();
        self.acknowledged(batch).await
    }

    /// Connects to a node it is not paired with for directed delivery: handshake, then an
    /// empty have-vector, as a node of the federation delivering chat would.
    pub async fn directed_only(url: &str, seed: u8, name: &str) -> anyhow::Result<Self> {
        let mut raw = Self::connect(url, seed, name).await?;
        raw.handshake().await?;
        raw.send(&PeerFrame::HaveVector(Vec::<HaveEntry>::new()))
            .await?;
        Ok(raw)
    }

    /// Sends a directed event; `Ok(())` once the node acknowledged it, `Err(code)` if it
    /// refused the link instead (0 when it closed without saying why).
    pub async fn deliver(&mut self, event: SignedEvent) -> Result<(), u16> {
        let id = event.id();
        self.send(&PeerFrame::Directed(event))
            .await
            .map_err(|_| 0u16)?;
        while let Some(frame) = self.recv().await {
            match frame {
                PeerFrame::DirectedAck(acked) if acked == id => return Ok(()),
                PeerFrame::Error { code, .. } => return Err(code.0),
                PeerFrame::Ping(v) => {
                    let _ = self.send(&PeerFrame::Pong(v)).await;
                }
                _ => {}
            }
        }
        Err(0)
    }

    /// The next directed event the node sends this fake node, acknowledged (passing over
    /// other frames); `None` if the link ended first.
    pub async fn next_directed(&mut self) -> Option<SignedEvent> {
        while let Some(frame) = self.recv().await {
            match frame {
                PeerFrame::Directed(event) => {
                    self.send(&PeerFrame::DirectedAck(event.id())).await.ok()?;
                    return Some(event);
                }
                PeerFrame::Ping(v) => self.send(&PeerFrame::Pong(v)).await.ok()?,
                _ => {}
            }
        }
        None
    }

    /// Waits until the node sends an error frame or closes; returns the error code if any.
    pub async fn refusal(&mut self) -> Option<u16> {
        while let Some(frame) = self.recv().await {
            if let PeerFrame::Error { code, .. } = frame {
                return Some(code.0);
            }
        }
        None
    }
}

/// The pairing secret inside a federation invite token (`kdpeer1_` ‖ hex of node id (32)
/// ‖ secret (32) ‖ ...).
pub fn invite_secret(token: &str) -> anyhow::Result<[u8; 32]> {
    let hex = token
        .strip_prefix("kdpeer1_")
        .ok_or_else(|| anyhow::anyhow!("not a federation invite"))?;
    let byte = |i: usize| {
        hex.get(2 * i..2 * i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .ok_or_else(|| anyhow::anyhow!("the invite is not hex"))
    };
    let mut secret = [0u8; 32];
    for (i, b) in secret.iter_mut().enumerate() {
        *b = byte(32 + i)?;
    }
    Ok(secret)
}

/// A directed audience for one node.
pub fn to(node: NodeId) -> Audience {
    Audience::Directed {
        recipients: vec![node],
    }
}

/// The id of a signed event, for references.
pub fn id_of(event: &SignedEvent) -> EventId {
    event.id()
}

/// Signs an event as another node (`keypair`), made now: a hostile node relaying events
/// of keys it made up.
pub fn sign_as(
    keypair: &NodeKeypair,
    audience: Audience,
    author: &MemberId,
    refs: References,
    body: EventBody,
) -> SignedEvent {
    let payload = EventPayload {
        origin: keypair.node_id(),
        created_at: Timestamp::now(),
        audience,
        author: author.clone(),
        refs,
        body,
    };
    SignedEvent::sign(&payload, keypair).unwrap()
}
