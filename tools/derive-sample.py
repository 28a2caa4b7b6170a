#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""derive-sample.py - derive the demo's small sample from UCI Online Retail.

Reads the full "Online Retail" file (UCI ML Repository dataset 352; Chen,
Sain & Guo, 2012; CC BY 4.0), as CSV or gzipped CSV, and writes three small
files: the first two are read by smartpromo-replay, the third by the
segment test (tests/unit/test_segment.c):

  online-retail-products.csv   the 200 products with the most order lines in
                               the last 90 days of the data, with their real
                               price, sales rates, reach and first sale date
  online-retail-customers.csv  how often the customers of that window
                               ordered, and whether they had ordered before
                               it (a histogram, no customer ids)
  online-retail-daily.csv      units, order lines and revenue per product
                               per day over the last 120 days of the data,
                               for those 200 products and a fixed 1-in-7
                               share of the others sold in those days

Usage: tools/derive-sample.py ONLINE_RETAIL.csv[.gz] OUTDIR [--top N]
                              [--window-days D] [--daily-days D]
                              [--daily-one-in K]

Python 3 standard library only; the output is the same on every run.
"""

import argparse
import collections
import csv
import datetime
import decimal
import gzip
import io
import os
import re
import sys
import zlib

# A real product's StockCode is five digits, optionally followed by letters
# (e.g. 85123A).  This excludes every non-product code in the data: POST,
# DOT, M, m, C2, D, S, B, BANK CHARGES, AMAZONFEE, CRUK, PADS, DCGS*,
# gift_0001_* (gift vouchers).
PRODUCT_CODE = re.compile(r"^[0-9]{5}[A-Za-z]*$")


# Open the source, gzipped or not, as text.
def open_source(path):
    raw = open(path, "rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), "utf-8",
                                errors="replace", newline="")
    raw.seek(0)
    return io.TextIOWrapper(raw, "utf-8", errors="replace", newline="")


# Price in pence from a decimal string, exactly (no float rounding).
def pence(s):
    return int((decimal.Decimal(s) * 100).to_integral_value(
        rounding=decimal.ROUND_HALF_UP))


# A valid sale line: not a cancellation, positive quantity and price.
def is_sale(row):
    if row["InvoiceNo"].startswith("C"):
        return False
    try:
        return int(row["Quantity"]) > 0 and pence(row["UnitPrice"]) > 0
    except (ValueError, decimal.InvalidOperation):
        return False


# The sale lines of real products, as (date, row) pairs.
def read_sales(path):
    with open_source(path) as f:
        for row in csv.DictReader(f):
            if not PRODUCT_CODE.match(row["StockCode"]) or not is_sale(row):
                continue
            day = datetime.date.fromisoformat(row["InvoiceDate"][:10])
            yield day, row


# Median of integers, halves rounded up.
def median(values):
    v = sorted(values)
    n = len(v)
    if n % 2:
        return v[n // 2]
    return (v[n // 2 - 1] + v[n // 2] + 1) // 2


# Per-product and per-customer statistics over the whole file.
class Stats:
    def __init__(self):
        self.first_sold = {}
        self.lines = collections.Counter()
        self.units = collections.Counter()
        self.prices = collections.defaultdict(list)
        self.descr = collections.defaultdict(collections.Counter)
        self.buyers = collections.defaultdict(set)
        self.cust_first = {}
        self.cust_invoices = collections.defaultdict(set)
        self.rows = []

    # First pass: remember every sale line (small enough) and first dates.
    def add(self, day, row):
        code = row["StockCode"].upper()
        if code not in self.first_sold or day < self.first_sold[code]:
            self.first_sold[code] = day
        cust = row["CustomerID"].split(".")[0]
        if cust:
            if cust not in self.cust_first or day < self.cust_first[cust]:
                self.cust_first[cust] = day
        self.rows.append((day, code, row, cust))

    # Second pass: the window's figures.
    def window(self, start, end):
        for day, code, row, cust in self.rows:
            if not start <= day <= end:
                continue
            self.lines[code] += 1
            self.units[code] += int(row["Quantity"])
            self.prices[code].append(pence(row["UnitPrice"]))
            self.descr[code][row["Description"].strip()] += 1
            if cust:
                self.buyers[code].add(cust)
                self.cust_invoices[cust].add(row["InvoiceNo"])


# The top products: most order lines, ties by StockCode.
def top_products(st, n):
    ranked = sorted(st.lines.items(), key=lambda kv: (-kv[1], kv[0]))
    return [code for code, _ in ranked[:n]]


# The most frequent description of a product (ties: alphabetical).
def description(st, code):
    best = sorted(st.descr[code].items(), key=lambda kv: (-kv[1], kv[0]))
    return best[0][0] if best else ""


# Write the products file.
def write_products(st, codes, days, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["product_id", "description", "list_price",
                    "units_per_day", "order_lines_per_day", "customers",
                    "first_sold"])
        for code in codes:
            w.writerow([code, description(st, code),
                        median(st.prices[code]),
                        "%.3f" % (st.units[code] / days),
                        "%.3f" % (st.lines[code] / days),
                        len(st.buyers[code]),
                        st.first_sold[code].isoformat()])


# Write the customer histogram: (past_buyer, invoices in window) -> count.
def write_customers(st, start, path):
    hist = collections.Counter()
    for cust, inv in st.cust_invoices.items():
        past = 1 if st.cust_first[cust] < start else 0
        hist[(past, len(inv))] += 1
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["past_buyer", "orders_in_window", "customers"])
        for (past, n), count in sorted(hist.items()):
            w.writerow([past, n, count])


# Revenue of a sale line in pence: Quantity x UnitPrice, rounded once.
def line_pence(row):
    return int((decimal.Decimal(row["Quantity"]) *
                decimal.Decimal(row["UnitPrice"]) * 100).to_integral_value(
        rounding=decimal.ROUND_HALF_UP))


# The daily file's products: the sample's, and every other product sold
# from start on whose CRC-32 of its StockCode is a multiple of one_in.
def daily_products(st, sample, start, one_in):
    sold = set(code for day, code, _, _ in st.rows if day >= start)
    others = set(c for c in sold
                 if zlib.crc32(c.encode("ascii")) % one_in == 0)
    return set(sample) | others


# (code, day) -> [units, order lines, revenue]: every sale day from start
# on, and the product's first sale day when it is earlier.
def daily_rows(st, codes, start):
    agg = collections.defaultdict(lambda: [0, 0, 0])
    for day, code, row, _ in st.rows:
        if code not in codes:
            continue
        if day < start and day != st.first_sold[code]:
            continue
        a = agg[(code, day)]
        a[0] += int(row["Quantity"])
        a[1] += 1
        a[2] += line_pence(row)
    return agg


# Write the daily file, sorted by product then date.
def write_daily(agg, path):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["product_id", "date", "units", "order_lines",
                    "revenue"])
        for (code, day), (units, lines, rev) in sorted(agg.items()):
            w.writerow([code, day.isoformat(), units, lines, rev])


# Parse the command line.
def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("source", help="online-retail.csv or .csv.gz")
    p.add_argument("outdir", help="directory for the two sample files")
    p.add_argument("--top", type=int, default=200)
    p.add_argument("--window-days", type=int, default=90)
    p.add_argument("--daily-days", type=int, default=120)
    p.add_argument("--daily-one-in", type=int, default=7)
    return p.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    st = Stats()
    for day, row in read_sales(args.source):
        st.add(day, row)
    if not st.rows:
        sys.exit("derive-sample: no sale lines in \"%s\"" % args.source)
    end = max(r[0] for r in st.rows)
    start = end - datetime.timedelta(days=args.window_days - 1)
    st.window(start, end)
    codes = top_products(st, args.top)
    os.makedirs(args.outdir, exist_ok=True)
    write_products(st, codes, args.window_days,
                   os.path.join(args.outdir, "online-retail-products.csv"))
    write_customers(st, start,
                    os.path.join(args.outdir, "online-retail-customers.csv"))
    print("window %s..%s (%d days), %d products, %d customers"
          % (start, end, args.window_days, len(codes),
             len(st.cust_invoices)), file=sys.stderr)
    dstart = end - datetime.timedelta(days=args.daily_days - 1)
    dcodes = daily_products(st, codes, dstart, args.daily_one_in)
    agg = daily_rows(st, dcodes, dstart)
    write_daily(agg, os.path.join(args.outdir, "online-retail-daily.csv"))
    print("daily %s..%s (%d days), %d products, %d rows"
          % (dstart, end, args.daily_days, len(dcodes), len(agg)),
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
