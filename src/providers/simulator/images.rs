//! The simulator's image models: the OpenAI Images API (`/images/generations`), every image the same
//! tiny PNG.

use bytes::Bytes;
use pingora::protocols::http::ServerSession;
use pingora::server::ShutdownWatch;
use serde_json::{json, Value};

use super::{now_secs, send, Fate, Simulator};
use crate::config::raw::RawSimulate;

/// The image every simulated image request gets: a valid 8×8 RGB PNG, base64-encoded.
pub const SIM_PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAbUlEQVR42hXOUREAUQhCUaMYhShEMcqNQhSi7Fs/OQzjzLCDBg83MGToMLPsosXLLSxZug/ECgmLE4iI6oFZI2NzBhNTPzj20OHjDo4cvQf/7Bt41Rf+F+h7YsIGBYfLHyc0D8oWFZfrX05p+QDeqGABtJu0bQAAAABJRU5ErkJggg==";

/// Output tokens reported per simulated image (what gpt-image-1 reports for a low-quality square).
const SIM_IMAGE_TOKENS: u64 = 272;

/// What one simulated image request asked for.
struct ImageAsk {
    prompt: String,
    n: u64,
    url: bool,
}

fn parse_image_ask(body: &[u8]) -> Option<ImageAsk> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let prompt = v["prompt"].as_str().filter(|p| !p.trim().is_empty())?.to_string();
    let n = match &v["n"] {
        Value::Null => 1,
        n => n.as_u64().filter(|n| (1..=10).contains(n))?,
    };
    let url = match &v["response_format"] {
        Value::Null => false,
        Value::String(f) if f == "url" => true,
        Value::String(f) if f == "b64_json" => false,
        _ => return None,
    };
    Some(ImageAsk { prompt, n, url })
}

impl Simulator {
    /// An image model: the OpenAI Images API (`/images/generations`). Each image is the same tiny
    /// PNG, as `b64_json` (the default) or as a `data:` URL when `response_format` is `url`.
    pub(super) async fn images(
        &self,
        session: &mut ServerSession,
        body: &[u8],
        sim: &RawSimulate,
        shutdown: &ShutdownWatch,
    ) -> Option<()> {
        let Some(ask) = parse_image_ask(body) else {
            let b = json!({"error": {"message": "the simulator expects an OpenAI image request: a prompt, n from 1 to 10, response_format url or b64_json", "type": "invalid_request_error"}});
            return send(session, 400, "application/json", Some(Bytes::from(b.to_string()))).await;
        };
        if let Fate::Done(r) = self.delay_and_fail(session, sim, shutdown).await {
            return r;
        }
        let image = |_| match ask.url {
            true => json!({"url": format!("data:image/png;base64,{SIM_PNG_BASE64}"), "revised_prompt": ask.prompt}),
            false => json!({"b64_json": SIM_PNG_BASE64, "revised_prompt": ask.prompt}),
        };
        let input_tokens = (ask.prompt.len() as u64 / 4).max(1);
        let output_tokens = SIM_IMAGE_TOKENS * ask.n;
        let b = json!({
            "created": now_secs(),
            "data": (0..ask.n).map(image).collect::<Vec<_>>(),
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens,
                      "total_tokens": input_tokens + output_tokens,
                      "input_tokens_details": {"text_tokens": input_tokens, "image_tokens": 0}},
        });
        send(session, 200, "application/json", Some(Bytes::from(b.to_string()))).await
    }
}
