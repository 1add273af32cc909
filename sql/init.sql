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

create table if not exists raw.stock_splits (
    symbol         text not null,
    effective_date date not null,
    split_factor   numeric(18, 6) not null,
    source         text not null,
    lake_key       text not null,
    loaded_at      timestamptz not null default now(),
    primary key (symbol, effective_date)
);
