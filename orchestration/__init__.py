"""What the Airflow DAGs run: each task is a plain function of the project, wired in `dags/`."""
