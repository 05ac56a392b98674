// The GraphQL documents the page sends, in one place.

export const MENU_ITEM_FIELDS = 'id name description priceCents currency category available';

export const MENU = `query Menu($after: String) {
  menuItems(first: 50, after: $after) { nodes { ${MENU_ITEM_FIELDS} } pageInfo { hasNextPage endCursor } }
}`;

export const MENU_ITEM = `query MenuItem($id: ID!) { menuItem(id: $id) { ${MENU_ITEM_FIELDS} } }`;

export const CREATE_MENU_ITEM = `mutation CreateMenuItem($input: MenuItemInput!) { createMenuItem(input: $input) { ${MENU_ITEM_FIELDS} } }`;

export const UPDATE_MENU_ITEM = `mutation UpdateMenuItem($id: ID!, $input: MenuItemChangesInput!) { updateMenuItem(id: $id, input: $input) { ${MENU_ITEM_FIELDS} } }`;

const ORDER_FIELDS = `id customerId status totalCents currency deliveryAddress createdAt
  items { menuItemId name unitPriceCents quantity }
  history { eventId eventType status occurredAt detail }
  delivery { status courier history { eventId status courier note occurredAt } }`;

export const ORDER = `query Order($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;

export const CREATE_ORDER = `mutation PlaceOrder($input: OrderInput!) { createOrder(input: $input) { id status } }`;

export const CANCEL_ORDER = `mutation CancelOrder($id: ID!) { cancelOrder(id: $id, reason: "cancelled on the web page") { id status } }`;

export const ORDER_UPDATES = `subscription OrderUpdates($orderId: ID!) {
  orderUpdates(orderId: $orderId) { eventId eventType orderStatus deliveryStatus occurredAt detail }
}`;

export const MY_ORDERS = `query MyOrders($customerId: String, $after: String) {
  orders(customerId: $customerId, first: 20, after: $after) {
    nodes { id status totalCents currency createdAt items { name quantity } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const DELIVERY = `query Delivery($orderId: ID!) {
  delivery(orderId: $orderId) { orderId status courier updatedAt history { eventId status courier note occurredAt } }
}`;

export const MOVE_DELIVERY = `mutation MoveDelivery($orderId: ID!, $status: DeliveryStatus!, $note: String) {
  updateDeliveryStatus(orderId: $orderId, status: $status, note: $note) { orderId status courier updatedAt history { eventId status courier note occurredAt } }
}`;

export const MOVIES = `query Movies($title: String) { movies(title: $title) { id title description } }`;

export const CREATE_MOVIE = `mutation CreateMovie($input: MovieInput!) { createMovie(input: $input) { id title description } }`;

export const UPDATE_MOVIE = `mutation UpdateMovie($id: ID!, $input: MovieChangesInput!) { updateMovie(id: $id, input: $input) { id title description } }`;

export interface MenuItem {
  id: string;
  name: string;
  description: string;
  priceCents: number;
  currency: string;
  category: string;
  available: boolean;
}

export interface Movie {
  id: number;
  title: string;
  description: string;
}

export type OrderStatus = 'PLACED' | 'PAID' | 'PAYMENT_FAILED' | 'OUT_FOR_DELIVERY' | 'DELIVERED' | 'CANCELLED';
export type DeliveryStatus = 'PENDING' | 'ASSIGNED' | 'PICKED_UP' | 'IN_TRANSIT' | 'DELIVERED' | 'FAILED';

export interface DeliveryHistoryEntry {
  eventId: string;
  status: DeliveryStatus;
  courier: string | null;
  note: string | null;
  occurredAt: string;
}

export interface Delivery {
  orderId?: string;
  status: DeliveryStatus;
  courier: string | null;
  updatedAt?: string;
  history: DeliveryHistoryEntry[];
}

export interface Order {
  id: string;
  customerId: string;
  status: OrderStatus;
  totalCents: number;
  currency: string;
  deliveryAddress: string;
  createdAt: string;
  items: { menuItemId: string; name: string; unitPriceCents: number; quantity: number }[];
  history: { eventId: string; eventType: string; status: OrderStatus; occurredAt: string; detail: string }[];
  delivery: Delivery | null;
}

export interface OrderUpdate {
  eventId: string;
  eventType: string;
  orderStatus: OrderStatus | null;
  deliveryStatus: DeliveryStatus | null;
  occurredAt: string;
  detail: string | null;
}
