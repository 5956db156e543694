; (exit N) powers the machine off through the SiFive test finisher with status N.
(display "goodbye")
(newline)
(exit 7)
(display "never reached")
