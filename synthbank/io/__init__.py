"""Reading and writing tables: below the engines, used by the relational and text engines, the demo bank and
the evaluation. ``reader`` reads a database's tables read-only (whole, or a sample drawn in SQL), ``writer``
creates the schema's DDL in a target and writes rows in one transaction, ``ddl`` builds that DDL."""
