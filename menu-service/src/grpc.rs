//! `mesh.menu.v1.MenuService`: proto in, domain through, proto out. Nothing else lives here.

use mesh_kit::{InvalidField, batch, db::PgPool};
use mesh_proto::menu::v1::{
    self as pb, BatchGetMenuItemsRequest, BatchGetMenuItemsResponse, CreateMenuItemRequest,
    DeleteMenuItemRequest, DeleteMenuItemResponse, GetMenuItemRequest, ListMenuItemsRequest,
    ListMenuItemsResponse, UpdateMenuItemRequest, menu_service_server::MenuService,
};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::{
    db,
    domain::{
        self, Allergens, Category, Currency, Description, ItemName, ListFilter, MenuItem,
        MenuItemPatch, NewMenuItem, PageSize, PageToken, PriceCents,
    },
    error::Error,
};

/// The gRPC face of the menu.
#[derive(Clone)]
pub struct MenuApi {
    pool: PgPool,
}

impl MenuApi {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn to_proto(item: MenuItem) -> pb::MenuItem {
    pb::MenuItem {
        id: item.id.to_string(),
        name: item.name,
        description: item.description,
        price_cents: item.price_cents,
        currency: item.currency,
        category: item.category,
        available: item.available,
        allergens: item
            .allergens
            .names()
            .iter()
            .filter_map(|name| pb::Allergen::from_str_name(name))
            .map(i32::from)
            .collect(),
        created_at: Some(mesh_proto::timestamp(item.created_at)),
        updated_at: Some(mesh_proto::timestamp(item.updated_at)),
    }
}

/// The allergens a request names, by their contract names (the codec has refused a value the
/// contract lacks, and the zero value).
fn allergens(numbers: &[i32]) -> Allergens {
    Allergens::new(
        numbers
            .iter()
            .filter_map(|number| pb::Allergen::try_from(*number).ok())
            .filter(|allergen| *allergen != pb::Allergen::Unspecified)
            .map(|allergen| allergen.as_str_name().to_owned()),
    )
}

fn reply<T>(result: Result<T, Error>) -> Result<Response<T>, Status> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl MenuService for MenuApi {
    #[tracing::instrument(skip_all, fields(category = %request.get_ref().category))]
    async fn list_menu_items(
        &self,
        request: Request<ListMenuItemsRequest>,
    ) -> Result<Response<ListMenuItemsResponse>, Status> {
        reply(self.list(request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn get_menu_item(
        &self,
        request: Request<GetMenuItemRequest>,
    ) -> Result<Response<pb::MenuItem>, Status> {
        reply(self.get(&request.into_inner().id).await)
    }

    #[tracing::instrument(skip_all, fields(ids = request.get_ref().ids.len()))]
    async fn batch_get_menu_items(
        &self,
        request: Request<BatchGetMenuItemsRequest>,
    ) -> Result<Response<BatchGetMenuItemsResponse>, Status> {
        reply(self.batch_get(request.into_inner().ids).await)
    }

    #[tracing::instrument(skip_all)]
    async fn create_menu_item(
        &self,
        request: Request<CreateMenuItemRequest>,
    ) -> Result<Response<pb::MenuItem>, Status> {
        reply(self.create(request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn update_menu_item(
        &self,
        request: Request<UpdateMenuItemRequest>,
    ) -> Result<Response<pb::MenuItem>, Status> {
        reply(self.update(request.into_inner()).await)
    }

    #[tracing::instrument(skip_all, fields(id = %request.get_ref().id))]
    async fn delete_menu_item(
        &self,
        request: Request<DeleteMenuItemRequest>,
    ) -> Result<Response<DeleteMenuItemResponse>, Status> {
        reply(self.delete(&request.into_inner().id).await)
    }
}

// === impl MenuApi ===

impl MenuApi {
    async fn list(&self, request: ListMenuItemsRequest) -> Result<ListMenuItemsResponse, Error> {
        let size = PageSize::new(request.page_size);
        let after = PageToken::parse(&request.page_token)?;
        // A filter is a category as items have them: the same rule (one line, bounded).
        let category = match request.category.trim() {
            "" => None,
            category => Some(Category::parse(category)?.into_inner()),
        };
        let filter = ListFilter {
            category,
            available: request.available,
            allergen_free: allergens(&request.allergen_free),
        };
        let mut conn = self.pool.get().await?;
        let mut items = db::list(&mut conn, &filter, after.as_ref(), size.get()).await?;
        let more = items.len() as i64 > size.get();
        items.truncate(size.get() as usize);
        let cursors: Vec<String> = items
            .iter()
            .map(|item| PageToken::after(item).encode())
            .collect();
        let next_page_token = match cursors.last() {
            Some(last) if more => last.clone(),
            _ => String::new(),
        };
        Ok(ListMenuItemsResponse {
            items: items.into_iter().map(to_proto).collect(),
            next_page_token,
            cursors,
        })
    }

    async fn get(&self, id: &str) -> Result<pb::MenuItem, Error> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.pool.get().await?;
        db::get(&mut conn, id)
            .await?
            .map(to_proto)
            .ok_or(Error::NotFound(id))
    }

    async fn batch_get(&self, ids: Vec<String>) -> Result<BatchGetMenuItemsResponse, Error> {
        let wanted = batch::parse_ids("ids", &ids)?;
        let mut conn = self.pool.get().await?;
        let found = db::get_many(&mut conn, &wanted).await?;
        let (found, missing) = batch::in_request_order(&wanted, found, |item| item.id);
        Ok(BatchGetMenuItemsResponse {
            items: found.into_iter().map(to_proto).collect(),
            missing_ids: missing.iter().map(Uuid::to_string).collect(),
        })
    }

    async fn create(&self, request: CreateMenuItemRequest) -> Result<pb::MenuItem, Error> {
        let item = NewMenuItem {
            name: ItemName::parse(&request.name)?,
            description: Description::parse(&request.description)?,
            // Present: the codec refuses a request without it (`required` in `proto/menu.proto`).
            price_cents: PriceCents::new(request.price_cents.unwrap_or_default()),
            currency: Currency::parse(&request.currency)?,
            category: Category::parse(&request.category)?,
            available: request.available.unwrap_or(true),
            allergens: allergens(&request.allergens),
        };
        let mut conn = self.pool.get().await?;
        let created = db::insert(&mut conn, item).await?;
        tracing::info!(id = %created.id, "menu item created");
        Ok(to_proto(created))
    }

    async fn update(&self, request: UpdateMenuItemRequest) -> Result<pb::MenuItem, Error> {
        let id = domain::parse_id("id", &request.id)?;
        let clears = request.no_allergens == Some(true);
        if clears && !request.allergens.is_empty() {
            return Err(
                InvalidField::new("no_allergens", "cannot be true beside allergens").into(),
            );
        }
        let patch = MenuItemPatch {
            name: request.name.as_deref().map(ItemName::parse).transpose()?,
            description: request
                .description
                .as_deref()
                .map(Description::parse)
                .transpose()?,
            price_cents: request.price_cents.map(PriceCents::new),
            currency: request
                .currency
                .as_deref()
                .map(Currency::parse)
                .transpose()?,
            category: request
                .category
                .as_deref()
                .map(Category::parse)
                .transpose()?,
            available: request.available,
            allergens: if clears {
                Some(Allergens::default())
            } else {
                Some(allergens(&request.allergens)).filter(|given| !given.names().is_empty())
            },
        };
        let mut conn = self.pool.get().await?;
        if patch.is_empty() {
            // Nothing to change: answer with the item as it is (or NOT_FOUND).
            return db::get(&mut conn, id)
                .await?
                .map(to_proto)
                .ok_or(Error::NotFound(id));
        }
        db::update(&mut conn, id, patch)
            .await?
            .map(to_proto)
            .ok_or(Error::NotFound(id))
    }

    async fn delete(&self, id: &str) -> Result<DeleteMenuItemResponse, Error> {
        let id = domain::parse_id("id", id)?;
        let mut conn = self.pool.get().await?;
        if db::delete(&mut conn, id).await? {
            tracing::info!(%id, "menu item deleted");
            Ok(DeleteMenuItemResponse {})
        } else {
            Err(Error::NotFound(id))
        }
    }
}
