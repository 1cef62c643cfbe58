//! A link's transport as two channels of raw frames, whatever the websocket library: the
//! inbound side is axum's websocket, the outbound side tokio-tungstenite's. The link logic
//! only sees [`Wire`], so it can be driven by plain channels in tests.

use axum::extract::ws::{CloseFrame, Message as AxumMessage, WebSocket};
use futures_util::{SinkExt, StreamExt};
use kindred_protocol::limits::MAX_FRAME_BYTES;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as TMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame as TCloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Frames queued for sending at most; a full queue makes the link wait (backpressure).
const SEND_QUEUE: usize = 16;
/// Frames read ahead at most; a full queue stops reading, which slows the peer down.
const RECEIVE_QUEUE: usize = 16;

/// Something to send.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// One encoded frame.
    Frame(Vec<u8>),
    /// Close the websocket with a code and reason.
    Close(u16, String),
}

/// Something received.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// One binary message (an encoded frame, not yet decoded).
    Frame(Vec<u8>),
    /// A message that cannot be a frame (text, or too large).
    Invalid(&'static str),
}

/// Both directions of a link.
pub(crate) struct Wire {
    /// To the socket.
    pub(crate) tx: mpsc::Sender<Outgoing>,
    /// From the socket; ends when the connection does.
    pub(crate) rx: mpsc::Receiver<Incoming>,
}

impl Wire {
    /// Two wires connected back to back, for tests.
    #[cfg(test)]
    pub(crate) fn pair() -> (Wire, Wire) {
        let (a_tx, a_rx) = mpsc::channel::<Outgoing>(SEND_QUEUE);
        let (b_tx, b_rx) = mpsc::channel::<Outgoing>(SEND_QUEUE);
        let (a_in_tx, a_in_rx) = mpsc::channel(RECEIVE_QUEUE);
        let (b_in_tx, b_in_rx) = mpsc::channel(RECEIVE_QUEUE);
        tokio::spawn(forward(a_rx, b_in_tx));
        tokio::spawn(forward(b_rx, a_in_tx));
        (
            Wire {
                tx: a_tx,
                rx: a_in_rx,
            },
            Wire {
                tx: b_tx,
                rx: b_in_rx,
            },
        )
    }
}

#[cfg(test)]
async fn forward(mut from: mpsc::Receiver<Outgoing>, to: mpsc::Sender<Incoming>) {
    while let Some(Outgoing::Frame(f)) = from.recv().await {
        if to.send(Incoming::Frame(f)).await.is_err() {
            break;
        }
    }
}

/// What a received websocket message means for the link.
enum Received {
    /// Hand it to the link.
    Deliver(Incoming),
    /// Control traffic the library answers itself.
    Skip,
    /// The peer closed the websocket.
    End,
}

/// Wraps an accepted (inbound) websocket.
pub(crate) fn from_axum(socket: WebSocket) -> Wire {
    let (sink, stream) = socket.split();
    pump(
        sink,
        stream,
        |out| match out {
            Outgoing::Frame(bytes) => AxumMessage::Binary(bytes.into()),
            Outgoing::Close(code, reason) => AxumMessage::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })),
        },
        |message| match message {
            AxumMessage::Binary(bytes) => Received::Deliver(Incoming::Frame(bytes.to_vec())),
            AxumMessage::Text(_) => Received::Deliver(Incoming::Invalid("text message on a link")),
            AxumMessage::Close(_) => Received::End,
            AxumMessage::Ping(_) | AxumMessage::Pong(_) => Received::Skip,
        },
    )
}

/// Wraps a websocket this node opened (outbound).
pub(crate) fn from_tungstenite<S>(socket: tokio_tungstenite::WebSocketStream<S>) -> Wire
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = socket.split();
    pump(
        sink,
        stream,
        |out| match out {
            Outgoing::Frame(bytes) => TMessage::Binary(bytes.into()),
            Outgoing::Close(code, reason) => TMessage::Close(Some(TCloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            })),
        },
        |message| match message {
            TMessage::Binary(bytes) => Received::Deliver(Incoming::Frame(bytes.to_vec())),
            TMessage::Text(_) => Received::Deliver(Incoming::Invalid("text message on a link")),
            TMessage::Close(_) => Received::End,
            TMessage::Ping(_) | TMessage::Pong(_) | TMessage::Frame(_) => Received::Skip,
        },
    )
}

/// Moves messages between a websocket's two halves and a [`Wire`]'s channels, one task
/// each way; `encode` and `decode` translate the library's message type.
fn pump<M, Si, St, E>(
    mut sink: Si,
    mut stream: St,
    encode: fn(Outgoing) -> M,
    decode: fn(M) -> Received,
) -> Wire
where
    M: Send + 'static,
    E: Send + 'static,
    Si: futures_util::Sink<M> + Unpin + Send + 'static,
    St: futures_util::Stream<Item = Result<M, E>> + Unpin + Send + 'static,
{
    let (tx, mut out_rx) = mpsc::channel::<Outgoing>(SEND_QUEUE);
    let (in_tx, rx) = mpsc::channel(RECEIVE_QUEUE);
    tokio::spawn(async move {
        while let Some(out) = out_rx.recv().await {
            // Closing is a courtesy; the connection ends after it either way.
            let closing = matches!(out, Outgoing::Close(..));
            if sink.send(encode(out)).await.is_err() || closing {
                break;
            }
        }
        let _ = sink.close().await;
    });
    tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            let incoming = match decode(message) {
                Received::Deliver(incoming) => incoming,
                Received::Skip => continue,
                Received::End => break,
            };
            if in_tx.send(incoming).await.is_err() {
                break;
            }
        }
    });
    Wire { tx, rx }
}

/// Largest websocket message a link accepts (a frame plus websocket framing slack).
pub(crate) const MAX_MESSAGE: usize = MAX_FRAME_BYTES + 1024;
