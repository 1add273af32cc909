-- Schemas and raw tables of the FinTrade warehouse.
-- Idempotent: every command applies it first, so any command works on an empty database.
-- No foreign keys in raw: relationships are tested by dbt, so a late or bad row never blocks a load.

-- Sessions that set no encoding (dbt or psql run by hand) speak UTF-8 to this database even when
-- the server's default is SQL_ASCII, as on some legacy servers; set once, only when missing.
do $$
begin
    if not exists (
        select 1
        from pg_db_role_setting as setting
        inner join pg_database as db on setting.setdatabase = db.oid
        where db.datname = current_database()
          and setting.setrole = 0
          and 'client_encoding=UTF8' = any(setting.setconfig)
    ) then
        execute format('alter database %I set client_encoding = %L', current_database(), 'UTF8');
    end if;
end
$$;

create schema if not exists raw;
create schema if not exists staging;
create schema if not exists core;
create schema if not exists mart;

create table if not exists raw.stocks (
    symbol       text primary key,
    company_name text not null,
    sector       text not null,
    exchange     text not null,
    loaded_at    timestamptz not null default now()
);

-- Added with the universe file: its currency, and whether the file still lists the stock (a
-- removed stock keeps its row and history, inactive).
alter table raw.stocks add column if not exists currency text not null default 'USD';
alter table raw.stocks add column if not exists is_active boolean not null default true;

create table if not exists raw.accounts (
    account_id   text primary key,
    user_name    text not null,
    email        text not null,
    account_type text not null,
    balance      numeric(18, 2) not null,
    created_at   timestamptz not null,
    loaded_at    timestamptz not null default now()
);

create table if not exists raw.orders (
    order_id   text primary key,
    account_id text not null,
    symbol     text not null,
    order_type text not null,
    quantity   integer not null,
    price      numeric(18, 4) not null,
    status     text not null,
    created_at timestamptz not null,
    loaded_at  timestamptz not null default now()
);

create table if not exists raw.trades (
    trade_id     text primary key,
    order_id     text not null,
    account_id   text not null,
    symbol       text not null,
    trade_type   text not null,
    quantity     integer not null,
    price        numeric(18, 4) not null,
    total_amount numeric(18, 2) not null,
    traded_at    timestamptz not null,
    loaded_at    timestamptz not null default now()
);

create table if not exists raw.daily_prices (
    symbol      text not null,
    price_date  date not null,
    open_price  numeric(18, 4) not null,
    high_price  numeric(18, 4) not null,
    low_price   numeric(18, 4) not null,
    close_price numeric(18, 4) not null,
    volume      bigint not null,
    source      text not null,
    lake_key    text not null,
    loaded_at   timestamptz not null default now(),
    primary key (symbol, price_date)
);

-- The daily dbt build reads the last few trading days of every symbol: by date, not by symbol.
create index if not exists daily_prices_price_date_idx on raw.daily_prices (price_date);

-- The incremental dbt build reads what the loads stamped since its last build
-- (dbt/fintrade/macros/changed_bars.sql): by loaded_at, whatever the bars' dates.
create index if not exists daily_prices_loaded_at_idx on raw.daily_prices (loaded_at);

-- Bars `fintrade replay` deleted (the lake no longer holds them), so the incremental build deletes
-- them from the fact too; a bar loaded again later is simply in daily_prices once more.
create table if not exists raw.withdrawn_prices (
    symbol       text not null,
    price_date   date not null,
    withdrawn_at timestamptz not null default now(),
    primary key (symbol, price_date)
);

-- Per symbol, how many bars raw holds and an order-free checksum of them (the sum of each bar's
-- raw.bar_checksum), kept by statement triggers in the same transaction as every write, whoever
-- writes. dbt's completeness tests compare it with the fact's own totals, kept the same way
-- (dbt/fintrade/macros/bar_totals.sql): a comparison of one row per symbol, however long the
-- history, that no incremental build's idea of what changed can fool.
create or replace function raw.bar_checksum(
    price_date date,
    loaded_at timestamptz,
    lake_key text,
    open_price numeric,
    high_price numeric,
    low_price numeric,
    close_price numeric,
    volume bigint
) returns numeric
language sql immutable parallel safe
-- Days and epoch seconds, not their text: those read the same in every session's DateStyle and
-- TimeZone, and the fact's triggers fire in dbt's session, raw's in a loader's.
return hashtextextended(
    concat_ws(
        '|', price_date - date '2000-01-01', extract(epoch from loaded_at), lake_key, open_price,
        high_price, low_price, close_price, volume
    ),
    0
)::numeric;

-- A statement trigger's function: adds the rows a statement inserted and takes away those it
-- deleted (an update does both) into the totals table its first argument names, hashed by the
-- expression of its second, counting only rows where its optional third holds.
create or replace function raw.keep_bar_totals() returns trigger
language plpgsql as $$
declare
    counted text := coalesce(tg_argv[2], 'true');
    changes text[] := '{}';
begin
    if tg_op in ('INSERT', 'UPDATE') then
        changes := changes || format(
            'select symbol, 1 as bar_count, %s as bar_checksum from new_rows where %s',
            tg_argv[1], counted
        );
    end if;
    if tg_op in ('UPDATE', 'DELETE') then
        changes := changes || format(
            'select symbol, -1 as bar_count, -(%s) as bar_checksum from old_rows where %s',
            tg_argv[1], counted
        );
    end if;
    execute format(
        'insert into %s as totals (symbol, bar_count, bar_checksum) '
        'select symbol, sum(bar_count), sum(bar_checksum) from (%s) as changes group by symbol '
        'on conflict (symbol) do update set '
        'bar_count = totals.bar_count + excluded.bar_count, '
        'bar_checksum = totals.bar_checksum + excluded.bar_checksum',
        tg_argv[0], array_to_string(changes, ' union all ')
    );
    return null;
end
$$;

-- Loads and the incremental build's read of what they stamped take turns: a load holds this
-- shared until it commits, the build exclusively while it reads raw.daily_prices. So every bar
-- stamped before the newest stamp a build read was visible to it, and the next build can start
-- from that stamp (macros/changed_bars.sql) however long a load's transaction ran.
create or replace function raw.lock_bars_for_load() returns void
language sql volatile
return pg_advisory_xact_lock_shared(hashtext('raw.daily_prices:builds'));

create or replace function raw.lock_bars_for_build() returns void
language sql volatile
return pg_advisory_xact_lock(hashtext('raw.daily_prices:builds'));

-- The totals counted once when the table is new (an existing database's bars), then kept by one
-- trigger per event: a trigger with transition tables fires on one event only.
do $$
declare
    checksum constant text := 'raw.bar_checksum(price_date, loaded_at, lake_key, open_price, '
        'high_price, low_price, close_price, volume)';
    event record;
begin
    if to_regclass('raw.daily_price_totals') is null then
        create table raw.daily_price_totals (
            symbol       text primary key,
            bar_count    bigint not null,
            bar_checksum numeric not null
        );
        execute format(
            'insert into raw.daily_price_totals (symbol, bar_count, bar_checksum) '
            'select symbol, count(*), sum(%s) from raw.daily_prices group by symbol',
            checksum
        );
    end if;
    for event in
        select * from (values
            ('insert', 'inserted', 'new table as new_rows'),
            ('update', 'updated', 'old table as old_rows new table as new_rows'),
            ('delete', 'deleted', 'old table as old_rows')
        ) as events (name, past, transition_tables)
    loop
        execute format(
            'create or replace trigger daily_prices_%s_totals after %s on raw.daily_prices '
            'referencing %s for each statement execute function raw.keep_bar_totals(%L, %L)',
            event.past, event.name, event.transition_tables, 'raw.daily_price_totals', checksum
        );
    end loop;
end
$$;

create or replace function raw.clear_bar_totals() returns trigger
language plpgsql as $$
begin
    execute format('truncate %s', tg_argv[0]);
    return null;
end
$$;

create or replace trigger daily_prices_truncated_totals
after truncate on raw.daily_prices
for each statement execute function raw.clear_bar_totals('raw.daily_price_totals');

create table if not exists raw.rejected_prices (
    symbol      text not null,
    price_date  text,
    reason      text not null,
    payload     jsonb,
    lake_key    text not null,
    rejected_at timestamptz not null default now(),
    unique nulls not distinct (lake_key, price_date, reason)
);

create table if not exists raw.ingest_runs (
    logical_date  date not null,
    symbol        text not null,
    source        text not null,
    status        text not null,
    rows_loaded   integer not null default 0,
    rows_rejected integer not null default 0,
    error         text,
    started_at    timestamptz not null,
    finished_at   timestamptz
);

create index if not exists ingest_runs_date_symbol_idx on raw.ingest_runs (logical_date, symbol);

-- Cash ledger of the simulated brokerage: deposits and withdrawals, amounts always positive.
-- raw.accounts.balance is the cash an account was opened with; it never moves.
create table if not exists raw.cash_movements (
    movement_id   text primary key,
    account_id    text not null,
    movement_type text not null,
    amount        numeric(18, 2) not null,
    moved_at      timestamptz not null,
    loaded_at     timestamptz not null default now()
);

-- The commission booked on each trade.
alter table raw.trades add column if not exists fee_amount numeric(18, 2) not null default 0;

-- Corporate actions (Alpha Vantage SPLITS and DIVIDENDS, or the synthetic schedule).
-- split_factor = new shares per old share (10 for 10-for-1); prices from effective_date on are
-- post-split. Dividend amounts are per share as traded on the ex-dividend date.
alter table raw.ingest_runs add column if not exists dataset text not null default 'prices';

-- The closed vocabularies of the run log (data_generator/storage/ingest_runs.py): readers match
-- a status, never a message. Added once; a release that grows a list replaces its constraint.
do $$
begin
    if not exists (select 1 from pg_constraint where conname = 'ingest_runs_status_check') then
        alter table raw.ingest_runs add constraint ingest_runs_status_check check (
            status in ('loaded', 'stale', 'failed', 'deferred', 'api_call', 'daily_limit')
        );
    end if;
    if not exists (select 1 from pg_constraint where conname = 'ingest_runs_dataset_check') then
        alter table raw.ingest_runs add constraint ingest_runs_dataset_check check (
            dataset in ('prices', 'splits', 'dividends', 'quota')
        );
    end if;
end
$$;

-- At thousands of symbols a day the run records grow by millions a year: the call budget counts
-- today's API calls, every Alpha Vantage fetch first asks whether the run met the daily limit,
-- and a corporate-actions load asks for a symbol's latest loaded list.
create index if not exists ingest_runs_api_calls_idx on raw.ingest_runs (started_at)
where status = 'api_call';
create index if not exists ingest_runs_daily_limit_idx on raw.ingest_runs (logical_date)
where status = 'daily_limit';
create index if not exists ingest_runs_symbol_idx on raw.ingest_runs (symbol, dataset, logical_date);

create table if not exists raw.dividends (
    symbol           text not null,
    ex_dividend_date date not null,
    amount           numeric(18, 6) not null,
    declaration_date date,
    record_date      date,
    payment_date     date,
    source           text not null,
    lake_key         text not null,
    loaded_at        timestamptz not null default now(),
    primary key (symbol, ex_dividend_date)
);

create table if not exists raw.rejected_actions (
    dataset     text not null,
    symbol      text not null,
    action_date text,
    reason      text not null,
    payload     jsonb,
    lake_key    text not null,
    rejected_at timestamptz not null default now(),
    unique nulls not distinct (lake_key, action_date, reason)
);

create table if not exists raw.stock_splits (
    symbol         text not null,
    effective_date date not null,
    split_factor   numeric(18, 6) not null,
    source         text not null,
    lake_key       text not null,
    loaded_at      timestamptz not null default now(),
    primary key (symbol, effective_date)
);
-- Warehouse roles: least privilege for each part of the pipeline. Roles are cluster-wide, so
-- creating one tolerates a concurrent init of another database on the same server. Passwords are
-- never set here: the pipeline sets them from its settings (data_generator/roles.py).
--   fintrade_loader       writes raw (ingest, OLTP activity); no DDL anywhere
--   fintrade_transformer  reads raw; owns staging, core and mart (dbt)
--   fintrade_analyst      reads mart only (dashboards, the demo's mart print-out)
do $$
declare
    role_name text;
begin
    foreach role_name in array array['fintrade_loader', 'fintrade_transformer', 'fintrade_analyst']
    loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            begin
                execute format('create role %I login', role_name);
            exception when duplicate_object or unique_violation then
                null;  -- another session created it first
            end;
        end if;
    end loop;
end
$$;

-- Temporary tables only for the roles whose loads use them; the analyst creates nothing at all.
do $$
begin
    execute format('revoke create, temporary on database %I from public', current_database());
    execute format(
        'grant connect, temporary on database %I to fintrade_loader, fintrade_transformer',
        current_database()
    );
    execute format('grant connect on database %I to fintrade_analyst', current_database());
end
$$;

revoke create on schema public from public;

-- raw: tables made here by the schema owner; granted by schema so tables added later are covered.
grant usage on schema raw to fintrade_loader, fintrade_transformer;
grant select, insert, update, delete on all tables in schema raw to fintrade_loader;
grant usage, select, update on all sequences in schema raw to fintrade_loader;
grant select on all tables in schema raw to fintrade_transformer;
alter default privileges in schema raw
grant select, insert, update, delete on tables to fintrade_loader;
alter default privileges in schema raw grant usage, select, update on sequences to fintrade_loader;
alter default privileges in schema raw grant select on tables to fintrade_transformer;

-- staging, core, mart belong to the transformer, and so does every relation dbt made in them
-- earlier as another user (a database built before these roles existed).
alter schema staging owner to fintrade_transformer;
alter schema core owner to fintrade_transformer;
alter schema mart owner to fintrade_transformer;

do $$
declare
    relation record;
begin
    for relation in
        select
            namespace.nspname as schema_name,
            class.relname as relation_name,
            case class.relkind
                when 'v' then 'view'
                when 'm' then 'materialized view'
                when 'S' then 'sequence'
                else 'table'
            end as relation_kind
        from pg_class as class
        inner join pg_namespace as namespace on class.relnamespace = namespace.oid
        where namespace.nspname in ('staging', 'core', 'mart')
          and class.relkind in ('r', 'p', 'v', 'm', 'S', 'f')
          and class.relowner <> 'fintrade_transformer'::regrole
    loop
        execute format(
            'alter %s %I.%I owner to fintrade_transformer',
            relation.relation_kind, relation.schema_name, relation.relation_name
        );
    end loop;
end
$$;

grant usage on schema mart to fintrade_analyst;
grant select on all tables in schema mart to fintrade_analyst;
alter default privileges for role fintrade_transformer in schema mart
grant select on tables to fintrade_analyst;
