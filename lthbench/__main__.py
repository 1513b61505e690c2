from lthbench.cli import main

raise SystemExit(main())
