# SPDX-License-Identifier: Apache-2.0
# Generate a realistic event mix for benchmarks: a catalog event for every
# product first, then page views (about 92%), order lines (about 6%) and
# catalog updates (about 2%) over P products and C shoppers.
# Usage: awk -v n=N -v p=P -v c=C -v t0=MS -v seed=S -f gen-events.awk
BEGIN {
	srand(seed + 0)
	for (i = 0; i < p; i++)
		printf "{\"type\":\"product\",\"event_id\":\"b-p%d\",\"ts\":%.0f,\"shop_id\":\"shop-%d\",\"product_id\":\"p%d\",\"price\":%d,\"stock\":500,\"listed_at\":%.0f}\n", i, t0, i % 10, i, 500 + (i * 7919) % 20000, t0 - 86400000
	for (k = 0; k < n; k++) {
		ts = t0 + k
		prod = int(p * rand() * rand())
		cust = int(c * rand())
		r = rand()
		if (r < 0.92)
			printf "{\"type\":\"page_view\",\"event_id\":\"b-v%d\",\"ts\":%.0f,\"shop_id\":\"shop-%d\",\"product_id\":\"p%d\",\"customer_id\":\"c%d\"}\n", k, ts, prod % 10, prod, cust
		else if (r < 0.98) {
			price = 500 + (prod * 7919) % 20000
			printf "{\"type\":\"order\",\"event_id\":\"b-o%d\",\"ts\":%.0f,\"shop_id\":\"shop-%d\",\"product_id\":\"p%d\",\"order_id\":\"o%d\",\"customer_id\":\"c%d\",\"qty\":1,\"unit_price\":%d,\"paid_unit_price\":%d}\n", k, ts, prod % 10, prod, k, cust, price, price - int(price / 10)
		} else
			printf "{\"type\":\"product\",\"event_id\":\"b-u%d\",\"ts\":%.0f,\"shop_id\":\"shop-%d\",\"product_id\":\"p%d\",\"price\":%d,\"stock\":%d,\"listed_at\":%.0f}\n", k, ts, prod % 10, prod, 500 + (prod * 7919) % 20000, int(500 * rand()), t0 - 86400000
	}
}
