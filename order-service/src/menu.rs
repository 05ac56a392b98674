//! The menu, as order-service asks it for prices: one batch call per order, balanced over every
//! menu-service instance.

use std::time::Duration;

use mesh_kit::balance::{BalanceConfig, BalanceError, Balancer};
use mesh_proto::menu::v1::{BatchGetMenuItemsRequest, menu_service_client::MenuServiceClient};
use tonic::Code;
use uuid::Uuid;

use crate::{domain::MenuPrice, error::Error};

/// How long pricing an order may wait for the menu. Placing an order waits on it, and the
/// gateway's own deadline (5 s by default) must leave room for the rest of the order.
const MENU_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct MenuClient {
    client: MenuServiceClient<Balancer>,
}

impl MenuClient {
    /// A client of the menu-service instances at `urls` (comma-separated `http://host:port`;
    /// a DNS name stands for every address it resolves to). Connects lazily: order-service
    /// starts even when the menu is down, and answers UNAVAILABLE to orders until it is back.
    pub fn new(urls: &str, balance: BalanceConfig) -> Result<Self, BalanceError> {
        let urls: Vec<&str> = urls
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect();
        let balancer = Balancer::new(
            "menu-service",
            &urls,
            balance.with_default_timeout(MENU_TIMEOUT),
        )?;
        Ok(Self {
            client: MenuServiceClient::new(balancer),
        })
    }

    /// The menu's current name, price and availability of each id it knows.
    pub async fn prices(&self, ids: &[Uuid]) -> Result<Vec<MenuPrice>, Error> {
        let request = BatchGetMenuItemsRequest {
            ids: ids.iter().map(Uuid::to_string).collect(),
        };
        let response = self
            .client
            .clone()
            .batch_get_menu_items(request)
            .await
            .map_err(|status| match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                    tracing::warn!(error = %status, "menu-service unavailable");
                    Error::MenuUnavailable
                }
                _ => Error::Internal(format!("menu-service answered {status}")),
            })?;
        response
            .into_inner()
            .items
            .into_iter()
            .map(|item| {
                let id = Uuid::parse_str(&item.id).map_err(|_| {
                    Error::Internal(format!("menu item id {:?} is not a UUID", item.id))
                })?;
                Ok(MenuPrice {
                    id,
                    name: item.name,
                    price_cents: item.price_cents,
                    currency: item.currency,
                    available: item.available,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use mesh_proto::menu::v1::ListMenuItemsRequest;
    use mesh_testkit::Served;

    use super::*;

    #[tokio::test]
    async fn several_comma_separated_urls_make_one_client_and_none_is_an_error() {
        let config = BalanceConfig::default;
        assert!(MenuClient::new("http://10.0.0.1:50051, http://10.0.0.2:50051", config()).is_ok());
        assert!(matches!(
            MenuClient::new(" , ", config()),
            Err(BalanceError::NoUrl)
        ));
        assert!(MenuClient::new("10.0.0.1:50051", config()).is_err());
    }

    #[tokio::test]
    async fn prices_come_from_the_live_instance_when_another_url_is_dead() {
        mesh_testkit::init_tracing();
        let menu = menu_service::Application::build(menu_service::Config {
            serve: Default::default(),
            addr: ([127, 0, 0, 1], 0).into(),
            database: mesh_testkit::database("menu"),
            seed: true,
        })
        .await
        .expect("menu-service starts");
        let menu = Served::spawn(menu.local_addr(), |stop| {
            menu.run_until_stopped(stop.wait())
        });
        let items = MenuServiceClient::new(mesh_testkit::channel(menu.addr))
            .list_menu_items(ListMenuItemsRequest::default())
            .await
            .expect("menu lists")
            .into_inner()
            .items;
        let ids: Vec<Uuid> = items
            .iter()
            .take(2)
            .map(|item| Uuid::parse_str(&item.id).expect("uuid"))
            .collect();

        let dead = format!("http://127.0.0.1:{}", mesh_testkit::process::free_port());
        let urls = format!("{dead},{}", menu.url());
        let client = MenuClient::new(&urls, BalanceConfig::default()).expect("client");
        // Whichever instance each call picks first, every order gets its prices.
        for _ in 0..10 {
            let prices = client.prices(&ids).await.expect("priced");
            assert_eq!(prices.len(), 2);
        }
    }
}
