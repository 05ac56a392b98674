// The GraphQL documents the page sends, in one place, and the page's names for what they answer.
//
// Each document is a graphql`...` literal: `npm run build` first runs graphql-codegen
// (codegen.yml), which checks every one against the gateway's served SDL
// (gateway/contract/schema.graphql) and writes the result and variables types of each operation
// and fragment into src/generated/graphql.ts; the type arguments of graphql<Result, Variables>
// hand them to gql() and subscribe(). A fragment goes to the gateway by being interpolated after
// the operation that spreads it (`${MENU_ITEM_FIELDS}`); codegen leaves the interpolation out and
// finds the fragment by its name. Nothing here spells a type by hand: a field the schema drops or
// changes fails codegen, or tsc where the page uses it.

import { graphql } from './api';
import type {
  CancelOrderMutation,
  CancelOrderMutationVariables,
  CreateMenuItemMutation,
  CreateMenuItemMutationVariables,
  CreateMovieMutation,
  CreateMovieMutationVariables,
  DeliveryFieldsFragment,
  DeliveryQuery,
  DeliveryQueryVariables,
  MenuItemFieldsFragment,
  MenuItemQuery,
  MenuItemQueryVariables,
  MenuQuery,
  MenuQueryVariables,
  MoveDeliveryMutation,
  MoveDeliveryMutationVariables,
  MovieFieldsFragment,
  MoviesQuery,
  MoviesQueryVariables,
  MyOrdersQuery,
  MyOrdersQueryVariables,
  OrderQuery,
  OrderQueryVariables,
  OrderUpdatesSubscription,
  OrderUpdatesSubscriptionVariables,
  PlaceOrderMutation,
  PlaceOrderMutationVariables,
  UpdateMenuItemMutation,
  UpdateMenuItemMutationVariables,
  UpdateMovieMutation,
  UpdateMovieMutationVariables,
} from './generated/graphql';

export type { DeliveryStatus, OrderStatus } from './generated/graphql';

// === The menu ===

const MENU_ITEM_FIELDS = graphql`
  fragment MenuItemFields on MenuItem {
    id
    name
    description
    priceCents
    currency
    category
    available
    allergens
  }
`;

export type MenuItem = MenuItemFieldsFragment;

export const MENU = graphql<MenuQuery, MenuQueryVariables>`
  query Menu($after: String) {
    menuItems(first: 50, after: $after) {
      nodes { ...MenuItemFields }
      pageInfo { hasNextPage endCursor }
    }
  }
  ${MENU_ITEM_FIELDS}
`;

export const MENU_ITEM = graphql<MenuItemQuery, MenuItemQueryVariables>`
  query MenuItem($id: ID!) {
    menuItem(id: $id) { ...MenuItemFields }
  }
  ${MENU_ITEM_FIELDS}
`;

export const CREATE_MENU_ITEM = graphql<CreateMenuItemMutation, CreateMenuItemMutationVariables>`
  mutation CreateMenuItem($input: MenuItemInput!) {
    createMenuItem(input: $input) { ...MenuItemFields }
  }
  ${MENU_ITEM_FIELDS}
`;

export const UPDATE_MENU_ITEM = graphql<UpdateMenuItemMutation, UpdateMenuItemMutationVariables>`
  mutation UpdateMenuItem($id: ID!, $input: MenuItemChangesInput!) {
    updateMenuItem(id: $id, input: $input) { ...MenuItemFields }
  }
  ${MENU_ITEM_FIELDS}
`;

// === Orders ===

export const ORDER = graphql<OrderQuery, OrderQueryVariables>`
  query Order($id: ID!) {
    order(id: $id) {
      id
      customerId
      status
      totalCents
      currency
      deliveryAddress
      createdAt
      items { menuItemId name unitPriceCents quantity }
      history { eventId eventType status occurredAt detail }
      delivery { status courier history { eventId status courier note occurredAt } }
    }
  }
`;

export type Order = NonNullable<OrderQuery['order']>;

export const CREATE_ORDER = graphql<PlaceOrderMutation, PlaceOrderMutationVariables>`
  mutation PlaceOrder($input: OrderInput!) {
    createOrder(input: $input) { id status }
  }
`;

export const CANCEL_ORDER = graphql<CancelOrderMutation, CancelOrderMutationVariables>`
  mutation CancelOrder($id: ID!) {
    cancelOrder(id: $id, reason: "cancelled on the web page") { id status }
  }
`;

export const ORDER_UPDATES = graphql<OrderUpdatesSubscription, OrderUpdatesSubscriptionVariables>`
  subscription OrderUpdates($orderId: ID!) {
    orderUpdates(orderId: $orderId) { eventId eventType orderStatus deliveryStatus occurredAt detail }
  }
`;

export type OrderUpdate = OrderUpdatesSubscription['orderUpdates'];

export const MY_ORDERS = graphql<MyOrdersQuery, MyOrdersQueryVariables>`
  query MyOrders($customerId: String, $after: String) {
    orders(customerId: $customerId, first: 20, after: $after) {
      nodes { id status totalCents currency createdAt items { name quantity } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

export type OrderSummary = MyOrdersQuery['orders']['nodes'][number];

// === Deliveries ===

const DELIVERY_FIELDS = graphql`
  fragment DeliveryFields on Delivery {
    orderId
    status
    courier
    updatedAt
    history { eventId status courier note occurredAt }
  }
`;

export type Delivery = DeliveryFieldsFragment;

export const DELIVERY = graphql<DeliveryQuery, DeliveryQueryVariables>`
  query Delivery($orderId: ID!) {
    delivery(orderId: $orderId) { ...DeliveryFields }
  }
  ${DELIVERY_FIELDS}
`;

export const MOVE_DELIVERY = graphql<MoveDeliveryMutation, MoveDeliveryMutationVariables>`
  mutation MoveDelivery($orderId: ID!, $status: DeliveryStatus!, $note: String) {
    updateDeliveryStatus(orderId: $orderId, status: $status, note: $note) { ...DeliveryFields }
  }
  ${DELIVERY_FIELDS}
`;

// === Movies ===

const MOVIE_FIELDS = graphql`
  fragment MovieFields on Movie {
    id
    title
    description
  }
`;

export type Movie = MovieFieldsFragment;

export const MOVIES = graphql<MoviesQuery, MoviesQueryVariables>`
  query Movies($title: String) {
    movies(title: $title) { ...MovieFields }
  }
  ${MOVIE_FIELDS}
`;

export const CREATE_MOVIE = graphql<CreateMovieMutation, CreateMovieMutationVariables>`
  mutation CreateMovie($input: MovieInput!) {
    createMovie(input: $input) { ...MovieFields }
  }
  ${MOVIE_FIELDS}
`;

export const UPDATE_MOVIE = graphql<UpdateMovieMutation, UpdateMovieMutationVariables>`
  mutation UpdateMovie($id: ID!, $input: MovieChangesInput!) {
    updateMovie(id: $id, input: $input) { ...MovieFields }
  }
  ${MOVIE_FIELDS}
`;
