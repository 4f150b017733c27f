from medcite.cli import main

main()
