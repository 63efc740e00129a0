from reports.business.cli import main

main()
