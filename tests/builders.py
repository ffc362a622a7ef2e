"""Test data builders shared by several test files."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthbank.schemas import Column, DatabaseSchema, ForeignKey, Table


def tricky_schema_and_data(n_accounts: int = 60, seed: int = 0):
    """Nine tables, depth 4: composite keys, two composite FKs to one parent, a self-reference, a nullable
    cycle, a table with no PK, a many-to-many link table, string keys, a lookup table to copy."""
    rng = np.random.default_rng(seed)
    c = Column
    schema = DatabaseSchema({
        "currencies": Table("currencies", {"code": c("code", "varchar(3)", False, "id"), "name": c("name", "varchar(20)", False, "categorical")},
                            ["code"], mode="copy"),
        "branches": Table("branches", {"branch_code": c("branch_code", "varchar(8)", False, "id"),
                                       "region": c("region", "varchar(10)", False, "categorical"),
                                       "head_employee_id": c("head_employee_id", "integer", True, "id")},
                          ["branch_code"], [ForeignKey(["head_employee_id"], "employees", ["employee_id"])]),
        "employees": Table("employees", {"employee_id": c("employee_id", "integer", False, "id"),
                                         "branch_code": c("branch_code", "varchar(8)", False, "id"),
                                         "manager_id": c("manager_id", "integer", True, "id"),
                                         "salary": c("salary", "float", False, "numerical")},
                           ["employee_id"], [ForeignKey(["branch_code"], "branches", ["branch_code"]),
                                             ForeignKey(["manager_id"], "employees", ["employee_id"])]),
        "accounts": Table("accounts", {"branch_code": c("branch_code", "varchar(8)", False, "id"),
                                       "account_no": c("account_no", "integer", False, "id"),
                                       "currency": c("currency", "varchar(3)", False, "id"),
                                       "balance": c("balance", "float", False, "numerical"),
                                       "kind": c("kind", "varchar(10)", False, "categorical")},
                          ["branch_code", "account_no"], [ForeignKey(["branch_code"], "branches", ["branch_code"]),
                                                          ForeignKey(["currency"], "currencies", ["code"])]),
        "transfers": Table("transfers", {"transfer_id": c("transfer_id", "varchar(12)", False, "id"),
                                         "from_branch": c("from_branch", "varchar(8)", False, "id"),
                                         "from_account": c("from_account", "integer", False, "id"),
                                         "to_branch": c("to_branch", "varchar(8)", False, "id"),
                                         "to_account": c("to_account", "integer", False, "id"),
                                         "amount": c("amount", "float", False, "numerical")},
                           ["transfer_id"], [ForeignKey(["from_branch", "from_account"], "accounts", ["branch_code", "account_no"]),
                                             ForeignKey(["to_branch", "to_account"], "accounts", ["branch_code", "account_no"])]),
        "audit_log": Table("audit_log", {"message": c("message", "varchar(40)", True, "categorical"),
                                         "level": c("level", "varchar(8)", True, "categorical")}),
        "customers": Table("customers", {"customer_id": c("customer_id", "integer", False, "id"),
                                         "full_name": c("full_name", "varchar(60)", False, "pii", pii="name"),
                                         "segment": c("segment", "varchar(10)", False, "categorical")}, ["customer_id"]),
        # many-to-many link between customers and accounts, with a composite key and a composite FK
        "account_holders": Table("account_holders", {"customer_id": c("customer_id", "integer", False, "id"),
                                                     "branch_code": c("branch_code", "varchar(8)", False, "id"),
                                                     "account_no": c("account_no", "integer", False, "id"),
                                                     "role": c("role", "varchar(10)", False, "categorical")},
                                 ["customer_id", "branch_code", "account_no"],
                                 [ForeignKey(["customer_id"], "customers", ["customer_id"]),
                                  ForeignKey(["branch_code", "account_no"], "accounts", ["branch_code", "account_no"])]),
        # depth 4: branches → accounts → transfers → transfer_fees
        "transfer_fees": Table("transfer_fees", {"fee_id": c("fee_id", "integer", False, "id"),
                                                 "transfer_id": c("transfer_id", "varchar(12)", False, "id"),
                                                 "fee": c("fee", "float", False, "numerical")},
                               ["fee_id"], [ForeignKey(["transfer_id"], "transfers", ["transfer_id"])]),
    })
    currencies = pd.DataFrame({"code": ["USD", "EUR", "GBP"], "name": ["dollar", "euro", "pound"]})
    branches = pd.DataFrame({"branch_code": [f"BR{i:03d}" for i in range(6)], "region": rng.choice(["east", "west"], 6)})
    employees = pd.DataFrame({"employee_id": np.arange(1, 31), "branch_code": rng.choice(branches["branch_code"], 30),
                              "salary": rng.normal(60_000, 9_000, 30)})
    employees["manager_id"] = [None if i < 3 else int(rng.integers(1, i)) for i in range(1, 31)]
    branches["head_employee_id"] = [int(x) if rng.random() < 0.7 else None for x in rng.choice(employees["employee_id"], 6)]
    accounts = pd.DataFrame({"branch_code": rng.choice(branches["branch_code"], n_accounts)})
    accounts["account_no"] = accounts.groupby("branch_code").cumcount() + 1
    accounts["currency"] = rng.choice(["USD", "EUR", "GBP"], n_accounts, p=[0.7, 0.2, 0.1])
    accounts["kind"] = rng.choice(["checking", "savings"], n_accounts)
    accounts["balance"] = np.where(accounts["kind"] == "savings", 5000.0, 800.0) * rng.lognormal(0, 0.5, n_accounts)
    pick = rng.integers(0, n_accounts, (3 * n_accounts, 2))
    transfers = pd.DataFrame({
        "transfer_id": [f"TR-{i:06d}" for i in range(3 * n_accounts)],
        "from_branch": accounts["branch_code"].to_numpy()[pick[:, 0]], "from_account": accounts["account_no"].to_numpy()[pick[:, 0]],
        "to_branch": accounts["branch_code"].to_numpy()[pick[:, 1]], "to_account": accounts["account_no"].to_numpy()[pick[:, 1]],
        "amount": rng.lognormal(4, 1, 3 * n_accounts)})
    audit = pd.DataFrame({"message": rng.choice(["login", "logout", "export"], 40), "level": rng.choice(["info", "warn"], 40)})
    customers = pd.DataFrame({"customer_id": np.arange(1, 41), "full_name": [f"Customer Number{i}" for i in range(40)],
                              "segment": rng.choice(["retail", "private"], 40)})
    holders = accounts[["branch_code", "account_no"]].copy()
    holders["customer_id"] = rng.integers(1, 41, len(holders))
    holders["role"] = "owner"
    joint = holders.sample(frac=0.3, random_state=1).assign(customer_id=lambda f: (f["customer_id"] % 40) + 1, role="joint")
    holders = pd.concat([holders, joint]).drop_duplicates(["customer_id", "branch_code", "account_no"]).reset_index(drop=True)
    fees = transfers[["transfer_id"]].sample(frac=0.5, random_state=2).reset_index(drop=True)
    fees["fee_id"] = np.arange(1, len(fees) + 1)
    fees["fee"] = rng.choice([0.5, 1.0, 2.5], len(fees))
    data = {"currencies": currencies, "branches": branches, "employees": employees, "accounts": accounts,
            "transfers": transfers, "audit_log": audit, "customers": customers,
            "account_holders": holders[["customer_id", "branch_code", "account_no", "role"]],
            "transfer_fees": fees[["fee_id", "transfer_id", "fee"]]}
    return schema, data


