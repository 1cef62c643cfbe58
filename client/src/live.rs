//! The live-update websocket as a stream of typed messages.

use futures_util::StreamExt;
use kindred_protocol::api::StreamMessage;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::ClientError;

/// An open live stream.
pub struct LiveStream {
    /// The websocket.
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl LiveStream {
    pub(crate) async fn connect(
        url: &str,
        token: &str,
        tls: std::sync::Arc<rustls::ClientConfig>,
    ) -> Result<Self, ClientError> {
        let mut request = url
            .into_client_request()
            .map_err(|e| ClientError::WebSocket(Box::new(e)))?;
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| ClientError::NotSignedIn)?;
        request.headers_mut().insert("authorization", value);
        let connector = tokio_tungstenite::Connector::Rustls(tls);
        let (socket, _) =
            tokio_tungstenite::connect_async_tls_with_config(request, None, false, Some(connector))
                .await
                .map_err(|e| ClientError::WebSocket(Box::new(e)))?;
        Ok(Self { socket })
    }

    /// The next message; `None` once the node closes the stream.
    pub async fn next(&mut self) -> Option<Result<StreamMessage, ClientError>> {
        loop {
            match self.socket.next().await? {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(&text).map_err(|_| {
                        ClientError::Unexpected {
                            status: 101,
                            body: text.chars().take(200).collect(),
                        }
                    }));
                }
                Ok(Message::Close(_)) => return None,
                Ok(_) => continue,
                Err(e) => return Some(Err(ClientError::WebSocket(Box::new(e)))),
            }
        }
    }
}
