;; The numerics' hot loops in WebAssembly SIMD (src/model/kernels.ts calls them; the math and
;; shapes are documented there). Every address is a byte offset into the model's own memory
;; (src/model/kernel-memory.ts). Weights are float32; vectors and every sum are float64.
;;
;; Each kernel adds its terms in exactly the order of the scalar code it replaced, so the results
;; are bit for bit the same: a matVec keeps one sequential sum per row, so its two f64x2 lanes are
;; two rows (a 4 x 4 block of float32 weights is transposed by shuffles); the other kernels sum
;; across rows for each output element, so their lanes are adjacent elements j, j + 1.
(module
  (import "env" "memory" (memory 1))

    ;; out[r - from] = rows[r] · x for r in [from, to): rows [* x h] float32 row-major at $rows,
  ;; x [h] float64 at $x, out [to - from] float64 at $out. Four rows a, b, c, d per pass and four
  ;; columns per step: a shuffle brings column j + k of rows a and b (c and d) to the low half,
  ;; which becomes the float64 lanes (a[j+k], b[j+k]) (i8x16.shuffle takes constant lanes, so the
  ;; four columns are written out).
  (func (export "mat_vec") (param $rows i32) (param $from i32) (param $to i32) (param $h i32) (param $x i32) (param $out i32)
    (local $r i32) (local $j i32) (local $h4 i32) (local $stride i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $xj i32) (local $o i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $xs v128)
    (local $z01 v128) (local $z23 v128) (local $z f64)
    (local.set $stride (i32.shl (local.get $h) (i32.const 2)))
    (local.set $h4 (i32.and (local.get $h) (i32.const -4)))
    (local.set $r (local.get $from))
    (local.set $o (local.get $out))
    ;; Four rows per pass: lanes (row 0, row 1) and (row 2, row 3), each a running sum over j.
    (block $rows4_done
      (loop $rows4
        (br_if $rows4_done (i32.gt_s (i32.add (local.get $r) (i32.const 4)) (local.get $to)))
        (local.set $p0 (i32.add (local.get $rows) (i32.mul (local.get $r) (local.get $stride))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $stride)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $stride)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $stride)))
        (local.set $z01 (v128.const f64x2 0 0))
        (local.set $z23 (v128.const f64x2 0 0))
        (local.set $j (i32.const 0))
        (block $cols4_done
          (loop $cols4
            (br_if $cols4_done (i32.ge_s (local.get $j) (local.get $h4)))
            (local.set $a (v128.load (local.get $p0)))
            (local.set $b (v128.load (local.get $p1)))
            (local.set $c (v128.load (local.get $p2)))
            (local.set $d (v128.load (local.get $p3)))
            (local.set $xj (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3))))
            ;; column j
            (local.set $xs (v128.load64_splat (local.get $xj)))
            (local.set $z01 (f64x2.add (local.get $z01) (f64x2.mul (local.get $xs)
              (f64x2.promote_low_f32x4 (i8x16.shuffle 0 1 2 3 16 17 18 19 0 1 2 3 16 17 18 19 (local.get $a) (local.get $b))))))
            (local.set $z23 (f64x2.add (local.get $z23) (f64x2.mul (local.get $xs)
              (f64x2.promote_low_f32x4 (i8x16.shuffle 0 1 2 3 16 17 18 19 0 1 2 3 16 17 18 19 (local.get $c) (local.get $d))))))
            ;; column j + 1
            (local.set $xs (v128.load64_splat offset=8 (local.get $xj)))
            (local.set $z01 (f64x2.add (local.get $z01) (f64x2.mul (local.get $xs)
              (f64x2.promote_low_f32x4 (i8x16.shuffle 4 5 6 7 20 21 22 23 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b))))))
            (local.set $z23 (f64x2.add (local.get $z23) (f64x2.mul (local.get $xs)
              (f64x2.promote_low_f32x4 (i8x16.shuffle 4 5 6 7 20 21 22 23 4 5 6 7 20 21 22 23 (local.get $c) (local.get $d))))))
            ;; column j + 2
            (local.set $xs (v128.load64_splat offset=16 (local.get $xj)))
            (local.set $z01 (f64x2.add (local.get $z01) (f64x2.mul (local.get $xs)
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 24 25 26 27 8 9 10 11 24 25 26 27 (local.get $a) (local.get $b))))))
            (local.set $z23 (f64x2.add (local.get $z23) (f64x2.mul (local.get $xs)
              (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 24 25 26 27 8 9 10 11 24 25 26 27 (local.get $c) (local.get $d))))))
            ;; column j + 3
            (local.set $xs (v128.load64_splat offset=24 (local.get $xj)))
            (local.set $z01 (f64x2.add (local.get $z01) (f64x2.mul (local.get $xs)
              (f64x2.promote_low_f32x4 (i8x16.shuffle 12 13 14 15 28 29 30 31 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b))))))
            (local.set $z23 (f64x2.add (local.get $z23) (f64x2.mul (local.get $xs)
              (f64x2.promote_low_f32x4 (i8x16.shuffle 12 13 14 15 28 29 30 31 12 13 14 15 28 29 30 31 (local.get $c) (local.get $d))))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols4)))
        ;; the columns left over when h is not a multiple of four, one at a time
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j) (local.get $h)))
            (local.set $xs (v128.load64_splat (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3)))))
            (local.set $z01 (f64x2.add (local.get $z01) (f64x2.mul (local.get $xs)
              (f64x2.replace_lane 1 (f64x2.splat (f64.promote_f32 (f32.load (local.get $p0)))) (f64.promote_f32 (f32.load (local.get $p1)))))))
            (local.set $z23 (f64x2.add (local.get $z23) (f64x2.mul (local.get $xs)
              (f64x2.replace_lane 1 (f64x2.splat (f64.promote_f32 (f32.load (local.get $p2)))) (f64.promote_f32 (f32.load (local.get $p3)))))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 4)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 4)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (v128.store (local.get $o) (local.get $z01))
        (v128.store offset=16 (local.get $o) (local.get $z23))
        (local.set $o (i32.add (local.get $o) (i32.const 32)))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (br $rows4)))
    ;; the rows left over, one at a time
    (block $rows_done
      (loop $rows1
        (br_if $rows_done (i32.ge_s (local.get $r) (local.get $to)))
        (local.set $p0 (i32.add (local.get $rows) (i32.mul (local.get $r) (local.get $stride))))
        (local.set $z (f64.const 0))
        (local.set $j (i32.const 0))
        (block $c1_done
          (loop $c1
            (br_if $c1_done (i32.ge_s (local.get $j) (local.get $h)))
            (local.set $z (f64.add (local.get $z) (f64.mul (f64.promote_f32 (f32.load (local.get $p0)))
              (f64.load (i32.add (local.get $x) (i32.shl (local.get $j) (i32.const 3)))))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $c1)))
        (f64.store (local.get $o) (local.get $z))
        (local.set $o (i32.add (local.get $o) (i32.const 8)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows1))))

  ;; out += Σ_r rows[r] d[r - from] for r in [from, to): rows [* x h] float32 at $w, d [to - from]
  ;; and out [h] float64; Wᵀ d when the rows are all of W and out starts at zero, and a softmax's
  ;; rowsᵀ · error in its backward pass. Four rows per pass from $from, each out[j] +=
  ;; r0[j] d0 + r1[j] d1 + r2[j] d2 + r3[j] d3 (two j per lane pair), then the rest one at a time.
  (func (export "add_transposed") (param $w i32) (param $from i32) (param $to i32) (param $h i32) (param $d i32) (param $out i32)
    (local $i i32) (local $j i32) (local $h4 i32) (local $stride i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $q i32)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local.set $stride (i32.shl (local.get $h) (i32.const 2)))
    (local.set $h4 (i32.and (local.get $h) (i32.const -4)))
    (local.set $i (local.get $from))
    (block $rows4_done
      (loop $rows4
        (br_if $rows4_done (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $to)))
        (local.set $q (i32.add (local.get $d) (i32.shl (i32.sub (local.get $i) (local.get $from)) (i32.const 3))))
        (local.set $d0 (v128.load64_splat (local.get $q)))
        (local.set $d1 (v128.load64_splat offset=8 (local.get $q)))
        (local.set $d2 (v128.load64_splat offset=16 (local.get $q)))
        (local.set $d3 (v128.load64_splat offset=24 (local.get $q)))
        (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $i) (local.get $stride))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $stride)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $stride)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $stride)))
        (local.set $q (local.get $out))
        (local.set $j (i32.const 0))
        (block $cols4_done
          (loop $cols4
            (br_if $cols4_done (i32.ge_s (local.get $j) (local.get $h4)))
            (local.set $w0 (v128.load (local.get $p0)))
            (local.set $w1 (v128.load (local.get $p1)))
            (local.set $w2 (v128.load (local.get $p2)))
            (local.set $w3 (v128.load (local.get $p3)))
            ;; out[j], out[j + 1]
            (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q))
              (f64x2.add (f64x2.add (f64x2.add
                (f64x2.mul (f64x2.promote_low_f32x4 (local.get $w0)) (local.get $d0))
                (f64x2.mul (f64x2.promote_low_f32x4 (local.get $w1)) (local.get $d1)))
                (f64x2.mul (f64x2.promote_low_f32x4 (local.get $w2)) (local.get $d2)))
                (f64x2.mul (f64x2.promote_low_f32x4 (local.get $w3)) (local.get $d3)))))
            ;; out[j + 2], out[j + 3]: the high half moved low first
            (v128.store offset=16 (local.get $q) (f64x2.add (v128.load offset=16 (local.get $q))
              (f64x2.add (f64x2.add (f64x2.add
                (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $w0) (local.get $w0))) (local.get $d0))
                (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $w1) (local.get $w1))) (local.get $d1)))
                (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $w2) (local.get $w2))) (local.get $d2)))
                (f64x2.mul (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $w3) (local.get $w3))) (local.get $d3)))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
            (local.set $q (i32.add (local.get $q) (i32.const 32)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols4)))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $j) (local.get $h)))
            (f64.store (local.get $q) (f64.add (f64.load (local.get $q))
              (f64.add (f64.add (f64.add
                (f64.mul (f64.promote_f32 (f32.load (local.get $p0))) (f64x2.extract_lane 0 (local.get $d0)))
                (f64.mul (f64.promote_f32 (f32.load (local.get $p1))) (f64x2.extract_lane 0 (local.get $d1))))
                (f64.mul (f64.promote_f32 (f32.load (local.get $p2))) (f64x2.extract_lane 0 (local.get $d2))))
                (f64.mul (f64.promote_f32 (f32.load (local.get $p3))) (f64x2.extract_lane 0 (local.get $d3))))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
            (local.set $p1 (i32.add (local.get $p1) (i32.const 4)))
            (local.set $p2 (i32.add (local.get $p2) (i32.const 4)))
            (local.set $p3 (i32.add (local.get $p3) (i32.const 4)))
            (local.set $q (i32.add (local.get $q) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows4)))
    ;; the rows left over: out[j] += rows[i][j] d[i - from]
    (block $rows_done
      (loop $rows1
        (br_if $rows_done (i32.ge_s (local.get $i) (local.get $to)))
        (local.set $d0 (v128.load64_splat (i32.add (local.get $d) (i32.shl (i32.sub (local.get $i) (local.get $from)) (i32.const 3)))))
        (local.set $p0 (i32.add (local.get $w) (i32.mul (local.get $i) (local.get $stride))))
        (local.set $q (local.get $out))
        (local.set $j (i32.const 0))
        (block $c1_done
          (loop $c1
            (br_if $c1_done (i32.ge_s (local.get $j) (local.get $h)))
            (f64.store (local.get $q) (f64.add (f64.load (local.get $q))
              (f64.mul (f64.promote_f32 (f32.load (local.get $p0))) (f64x2.extract_lane 0 (local.get $d0)))))
            (local.set $p0 (i32.add (local.get $p0) (i32.const 4)))
            (local.set $q (i32.add (local.get $q) (i32.const 8)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $c1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows1))))

  ;; M += Σ_k a[k] b[k]ᵀ for k < count: M [h x h] float64 at $m; a[k] and b[k] [h] float64, one
  ;; after another from $a and $b. Four k per pass, M[i][j] += a0[i] b0[j] + a1[i] b1[j] +
  ;; a2[i] b2[j] + a3[i] b3[j] (two j per lane pair), then the k left over one at a time.
  (func (export "add_outer_products") (param $m i32) (param $a i32) (param $b i32) (param $count i32) (param $h i32)
    (local $k i32) (local $i i32) (local $j i32) (local $h2 i32) (local $vec i32)
    (local $pa i32) (local $q i32) (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local.set $vec (i32.shl (local.get $h) (i32.const 3)))
    (local.set $h2 (i32.and (local.get $h) (i32.const -2)))
    (local.set $k (i32.const 0))
    (block $k4_done
      (loop $k4
        (br_if $k4_done (i32.gt_s (i32.add (local.get $k) (i32.const 4)) (local.get $count)))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $vec))))
        (local.set $q (local.get $m))
        (local.set $i (i32.const 0))
        (block $i_done
          (loop $rows
            (br_if $i_done (i32.ge_s (local.get $i) (local.get $h)))
            (local.set $x0 (v128.load64_splat (local.get $pa)))
            (local.set $x1 (v128.load64_splat (i32.add (local.get $pa) (local.get $vec))))
            (local.set $x2 (v128.load64_splat (i32.add (local.get $pa) (i32.shl (local.get $vec) (i32.const 1)))))
            (local.set $x3 (v128.load64_splat (i32.add (local.get $pa) (i32.mul (local.get $vec) (i32.const 3)))))
            (local.set $b0 (i32.add (local.get $b) (i32.mul (local.get $k) (local.get $vec))))
            (local.set $b1 (i32.add (local.get $b0) (local.get $vec)))
            (local.set $b2 (i32.add (local.get $b1) (local.get $vec)))
            (local.set $b3 (i32.add (local.get $b2) (local.get $vec)))
            (local.set $j (i32.const 0))
            (block $j2_done
              (loop $cols2
                (br_if $j2_done (i32.ge_s (local.get $j) (local.get $h2)))
                (v128.store (local.get $q) (f64x2.add (v128.load (local.get $q))
                  (f64x2.add (f64x2.add (f64x2.add
                    (f64x2.mul (local.get $x0) (v128.load (local.get $b0)))
                    (f64x2.mul (local.get $x1) (v128.load (local.get $b1))))
                    (f64x2.mul (local.get $x2) (v128.load (local.get $b2))))
                    (f64x2.mul (local.get $x3) (v128.load (local.get $b3))))))
                (local.set $q (i32.add (local.get $q) (i32.const 16)))
                (local.set $b0 (i32.add (local.get $b0) (i32.const 16)))
                (local.set $b1 (i32.add (local.get $b1) (i32.const 16)))
                (local.set $b2 (i32.add (local.get $b2) (i32.const 16)))
                (local.set $b3 (i32.add (local.get $b3) (i32.const 16)))
                (local.set $j (i32.add (local.get $j) (i32.const 2)))
                (br $cols2)))
            (if (i32.lt_s (local.get $j) (local.get $h))
              (then
                (f64.store (local.get $q) (f64.add (f64.load (local.get $q))
                  (f64.add (f64.add (f64.add
                    (f64.mul (f64x2.extract_lane 0 (local.get $x0)) (f64.load (local.get $b0)))
                    (f64.mul (f64x2.extract_lane 0 (local.get $x1)) (f64.load (local.get $b1))))
                    (f64.mul (f64x2.extract_lane 0 (local.get $x2)) (f64.load (local.get $b2))))
                    (f64.mul (f64x2.extract_lane 0 (local.get $x3)) (f64.load (local.get $b3))))))
                (local.set $q (i32.add (local.get $q) (i32.const 8)))))
            (local.set $pa (i32.add (local.get $pa) (i32.const 8)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rows)))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $k4)))
    ;; the k left over: M[i][j] += a[i] b[j]
    (block $k1_done
      (loop $k1
        (br_if $k1_done (i32.ge_s (local.get $k) (local.get $count)))
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $vec))))
        (local.set $q (local.get $m))
        (local.set $i (i32.const 0))
        (block $i1_done
          (loop $rows1
            (br_if $i1_done (i32.ge_s (local.get $i) (local.get $h)))
            (local.set $x0 (v128.load64_splat (local.get $pa)))
            (local.set $b0 (i32.add (local.get $b) (i32.mul (local.get $k) (local.get $vec))))
            (local.set $j (i32.const 0))
            (block $c1_done
              (loop $c1
                (br_if $c1_done (i32.ge_s (local.get $j) (local.get $h)))
                (f64.store (local.get $q) (f64.add (f64.load (local.get $q))
                  (f64.mul (f64x2.extract_lane 0 (local.get $x0)) (f64.load (local.get $b0)))))
                (local.set $q (i32.add (local.get $q) (i32.const 8)))
                (local.set $b0 (i32.add (local.get $b0) (i32.const 8)))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $c1)))
            (local.set $pa (i32.add (local.get $pa) (i32.const 8)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $rows1)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $k1))))

  ;; dst[i] = the float32 value of the IEEE half with bits src[i], for i < n (src: n uint16
  ;; little-endian, dst: n float32); returns the index of the first that is Infinity or NaN, or -1.
  ;; Exact: the half's exponent and mantissa bits, moved to float32's positions, read as a float32
  ;; 2^112 times too small (the exponent biases are 127 and 15, and a half subnormal lands on a
  ;; float32 subnormal), so one multiplication by 2^112 rescales normals and subnormals alike; an
  ;; exponent of all ones (Infinity, NaN) gets float32's.
  ;; dst may start before src with src - dst >= 2 n (model-codec's in-place widening: the halves
  ;; in a region's upper half): each step reads its eight halves before writing them, and writes
  ;; nothing a later step still has to read.
  (func (export "f16_to_f32") (param $src i32) (param $dst i32) (param $n i32) (result i32)
    (local $i i32) (local $n8 i32) (local $halves v128) (local $bad v128) (local $first i32)
    (local.set $n8 (i32.and (local.get $n) (i32.const -8)))
    (local.set $first (i32.const -1))
    (block $done8
      (loop $step8
        (br_if $done8 (i32.ge_u (local.get $i) (local.get $n8)))
        (local.set $halves (v128.load (local.get $src)))
        ;; a lane of $bad is set once any half seen in it had an exponent of all ones
        (local.set $bad (v128.or (local.get $bad)
          (i16x8.eq (v128.and (local.get $halves) (v128.const i16x8 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00))
            (v128.const i16x8 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00 0x7c00))))
        (v128.store (local.get $dst) (call $widen (i32x4.extend_low_i16x8_u (local.get $halves))))
        (v128.store offset=16 (local.get $dst) (call $widen (i32x4.extend_high_i16x8_u (local.get $halves))))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $step8)))
    ;; Where, if anywhere: the widened values hold it too (the halves may be overwritten by now).
    (if (v128.any_true (local.get $bad))
      (then (local.set $first (call $first_non_finite
        (i32.sub (local.get $dst) (i32.shl (local.get $n8) (i32.const 2))) (local.get $n8)))))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (f32.store (local.get $dst) (f32x4.extract_lane 0 (call $widen (i32x4.splat (i32.load16_u (local.get $src))))))
        (if (i32.and (i32.lt_s (local.get $first) (i32.const 0))
              (i32.eq (i32.and (i32.load (local.get $dst)) (i32.const 0x7f800000)) (i32.const 0x7f800000)))
          (then (local.set $first (local.get $i))))
        (local.set $src (i32.add (local.get $src) (i32.const 2)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $step)))
    (local.get $first))

  ;; Four halves (one per 32-bit lane, zero-extended) to four float32.
  (func $widen (param $h v128) (result v128)
    (local $magnitude v128)
    (local.set $magnitude (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)))
    (v128.or
      (v128.or
        (f32x4.mul (i32x4.shl (local.get $magnitude) (i32.const 13)) (v128.const f32x4 0x1p112 0x1p112 0x1p112 0x1p112))
        (v128.and (i32x4.ge_u (local.get $magnitude) (v128.const i32x4 0x7c00 0x7c00 0x7c00 0x7c00))
          (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000)))
      (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))))

  ;; The index of the first of a[0 .. n) (float32 at $a) that is Infinity or NaN, or -1.
  (func $first_non_finite (export "first_non_finite") (param $a i32) (param $n i32) (result i32)
    (local $i i32) (local $n4 i32) (local $p i32)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (local.set $p (local.get $a))
    ;; Four at a time until a step holds one (an exponent of all ones), then one at a time.
    (block $found
      (loop $step4
        (br_if $found (i32.ge_u (local.get $i) (local.get $n4)))
        (br_if $found (v128.any_true (i32x4.eq
          (v128.and (v128.load (local.get $p)) (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))
          (v128.const i32x4 0x7f800000 0x7f800000 0x7f800000 0x7f800000))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $step4)))
    (block $none
      (loop $step
        (br_if $none (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.eq (i32.and (i32.load (local.get $p)) (i32.const 0x7f800000)) (i32.const 0x7f800000))
          (then (return (local.get $i))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $step)))
    (i32.const -1))
)
