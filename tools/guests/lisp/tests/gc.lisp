; The garbage collector: loops that allocate far more than the heap holds, while data
; kept alive across all those collections must come through intact.
(define (iota n)
  (let loop ((i (- n 1)) (acc '()))
    (if (< i 0) acc (loop (- i 1) (cons i acc)))))
(define (sum l) (if (null? l) 0 (+ (car l) (sum (cdr l)))))
(define (sum-iter l acc) (if (null? l) acc (sum-iter (cdr l) (+ acc (car l)))))

; Long-lived data, made before the churn.
(define keep (iota 1000))
(define keep-strings (map number->string (iota 50)))
(define keep-table (map (lambda (i) (list i (* i i) (string-append "s" (number->string i)))) (iota 20)))

; Churn: 200 lists of 500 elements (100,000 pairs; with the frames of the calls that
; build and sum them, 11 MB of cells, 5 times the whole heap).
(define (churn rounds)
  (let loop ((r 0) (last 0))
    (if (= r rounds)
        last
        (loop (+ r 1) (sum-iter (iota 500) 0)))))
(churn 200)

; String churn: strings built and dropped (about 12 MB of string bodies, a dozen times
; the string pool).
(define (string-churn rounds)
  (let loop ((r 0) (s ""))
    (if (= r rounds)
        (string-length s)
        (loop (+ r 1)
              (if (> (string-length s) 5000)
                  ""
                  (string-append s (number->string r) "-"))))))
(string-churn 5000)

; Closures and environments are garbage too.
(define (make-adder k) (lambda (v) (+ v k)))
(define (closure-churn n)
  (let loop ((i 0) (f (make-adder 0)))
    (if (= i n) (f 1) (loop (+ i 1) (make-adder i)))))
(closure-churn 20000)

; Symbols made at run time stay (symbols are never collected).
(define made (map (lambda (i) (string->symbol (string-append "sym-" (number->string i)))) (iota 5)))
made
(eq? (car made) 'sym-0)

; The survivors.
(sum keep)
(length keep)
(apply string-append keep-strings)
keep-table
(equal? keep (iota 1000))

; A deep car-nesting built by a loop (not by recursion) is marked without recursion.
(define (nest n)
  (let loop ((i 0) (acc '()))
    (if (= i n) acc (loop (+ i 1) (list acc)))))
(define deep-nest (nest 50000))
(gc)
(define (unnest x n) (if (null? x) n (unnest (car x) (+ n 1))))
(unnest deep-nest 0)
(set! deep-nest #f)

; A heap that fills up: an error, not a crash, and the heap is usable again after it.
(define hog (iota 3000000))
(length (iota 1000))

; (gc) collects now and returns the cells in use; (room) reports the heap.
(number? (gc))
(room)
(exit 0)
