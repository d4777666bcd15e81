"""dbt started in the folder named by SW_DBT_FOLDER, where the profile's relative database path
points (orchestration/project.py); dagster-dbt starts dbt in the project's folder. Imports dbt
alone: it runs at the start of every dbt call."""

import os
import sys

from dbt.cli.main import cli

FOLDER_ENV = "SW_DBT_FOLDER"


def main() -> None:
    folder = os.environ.get(FOLDER_ENV)
    if folder:
        os.chdir(folder)
    sys.exit(cli())
