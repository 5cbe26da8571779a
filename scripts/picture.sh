#!/bin/sh
# `npm run picture`: docs/plot.png, a real plot of the README quick start's demo data. Runs the
# quick start (fake one day of adtemp, scrape it) with a dbconf that maps fake_dcs and
# tmp_offline_db to SQLite files in a temporary folder (var/ is left alone), then plots the day of
# Temp_PT1 as PNG (headless Chromium: Debian's chromium, or SCRAPE_CHROMIUM).
set -e
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '[fake_dcs]\nurl = sqlite:%s/fake_dcs.sqlite\nfake = true\n\n[tmp_offline_db]\nurl = sqlite:%s/tmp_offline_db.sqlite\n' "$dir" "$dir" > "$dir/dbconf.ini"
node bin/scrape fake adtemp --count 8640 --dbconf "$dir/dbconf.ini"
node bin/scrape run adtemp --until-caught-up --dbconf "$dir/dbconf.ini" --log-level warn
node bin/scrape plot adtemp --dbconf "$dir/dbconf.ini" --columns Temp_PT1 --out docs/plot.png
