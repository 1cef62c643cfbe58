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
                .map_err(refused)?;
        Ok(Self { socket })
    }

    /// The next message; `None` once the node closes the stream. A message of a type this
    /// client does not know (from a newer node) is skipped, so following goes on.
    pub async fn next(&mut self) -> Option<Result<StreamMessage, ClientError>> {
        loop {
            match self.socket.next().await? {
                Ok(Message::Text(text)) => match serde_json::from_str(&text) {
                    Ok(message) => return Some(Ok(message)),
                    Err(_) if of_another_type(&text) => continue,
                    Err(_) => {
                        return Some(Err(ClientError::Unexpected {
                            status: 101,
                            body: text.chars().take(200).collect(),
                        }));
                    }
                },
                Ok(Message::Close(_)) => return None,
                Ok(_) => continue,
                Err(e) => return Some(Err(ClientError::WebSocket(Box::new(e)))),
            }
        }
    }
}

/// Whether `text` (which is not a [`StreamMessage`] this client can read) is still a JSON
/// object tagged with a `type`: an update this client does not know, from a newer node.
fn of_another_type(text: &str) -> bool {
    #[derive(serde::Deserialize)]
    struct Tagged {
        r#type: String,
    }
    serde_json::from_str::<Tagged>(text).is_ok_and(|t| !t.r#type.is_empty())
}

/// A refused upgrade carries the node's JSON error (401, 429, ...): give it as the API
/// error the rest of the client returns, so callers can tell "too many streams" from a
/// network fault.
fn refused(e: tokio_tungstenite::tungstenite::Error) -> ClientError {
    use tokio_tungstenite::tungstenite::Error;
    if let Error::Http(response) = &e {
        let status = response.status().as_u16();
        let body = response.body().as_deref().unwrap_or_default();
        return match serde_json::from_slice::<kindred_protocol::api::ApiErrorBody>(body) {
            Ok(b) => ClientError::Api {
                status,
                code: b.error.code,
                message: b.error.message,
            },
            Err(_) => ClientError::Unexpected {
                status,
                body: String::from_utf8_lossy(body).chars().take(200).collect(),
            },
        };
    }
    ClientError::WebSocket(Box::new(e))
}
