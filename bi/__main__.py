from bi.cli import main

main()
