//! The gateway's REST routes the event and burst measurements use, over one pooled client.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Gateway {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Gateway {
    pub fn new(base: &str, token: &str) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1024)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Ids of the menu's available items (the seeded menu has a dozen).
    pub async fn menu_item_ids(&self) -> Result<Vec<String>> {
        let url = format!("{}/menu/items?available=true", self.base);
        let items: Value = answer(self.http.get(&url).send().await, &url).await?;
        let ids: Vec<String> = items
            .as_array()
            .ok_or_else(|| anyhow!("GET {url}: not a JSON array"))?
            .iter()
            .filter_map(|item| item["id"].as_str().map(str::to_owned))
            .collect();
        if ids.is_empty() {
            bail!("GET {url}: the menu has no available item to order");
        }
        Ok(ids)
    }

    /// `POST /orders` with one line, as the customer of the token; the created order.
    pub async fn place_order(&self, menu_item_id: &str) -> Result<Value> {
        let url = format!("{}/orders", self.base);
        let body = json!({
            "items": [{"menu_item_id": menu_item_id, "quantity": 1}],
            "delivery_address": "1 Benchmark Road",
        });
        let request = self
            .http
            .post(&url)
            .bearer_auth(&self.token)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&body);
        answer(request.send().await, &url).await
    }

    /// `GET /orders/:id`.
    pub async fn order(&self, id: &str) -> Result<Value> {
        let url = format!("{}/orders/{id}", self.base);
        let request = self.http.get(&url).bearer_auth(&self.token);
        answer(request.send().await, &url).await
    }

    /// `PUT /delivery/status/:id` with `{"status": ...}`, signed with `token`.
    pub async fn move_delivery(&self, token: &str, order_id: &str, status: &str) -> Result<Value> {
        let url = format!("{}/delivery/status/{order_id}", self.base);
        let request = self
            .http
            .put(&url)
            .bearer_auth(token)
            .json(&json!({"status": status}));
        answer(request.send().await, &url).await
    }
}

/// The JSON body of a 2xx answer; anything else is an error naming the URL and status.
async fn answer(response: reqwest::Result<reqwest::Response>, url: &str) -> Result<Value> {
    let response = response.with_context(|| format!("{url}: no answer"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("{url}: reading the body"))?;
    if !status.is_success() {
        bail!(
            "{url}: {status}: {}",
            body.chars().take(300).collect::<String>()
        );
    }
    serde_json::from_str(&body).with_context(|| format!("{url}: the body is not JSON"))
}

/// A string field of a JSON object, or an error that says which.
pub fn text<'a>(value: &'a Value, field: &str) -> Result<&'a str> {
    value[field]
        .as_str()
        .ok_or_else(|| anyhow!("the answer has no string '{field}': {value}"))
}
