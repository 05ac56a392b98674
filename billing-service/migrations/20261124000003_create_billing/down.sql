DROP TABLE billing_orders;
DROP TABLE payments;
