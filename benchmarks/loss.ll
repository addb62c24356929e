; Random packet loss for the remote benchmark (benchmarks/changing_link.py): a tc classifier in eBPF, built with
; `llc -march=bpf -filetype=obj` after LOSS_PER_MILLE is replaced by the loss in per mille. Attached in direct-action
; mode on a veth's egress, it drops a packet (TC_ACT_SHOT, 2) when bpf_get_prandom_u32() (helper 7) % 1000 is below
; that number, and lets it pass (TC_ACT_OK, 0) otherwise. LLVM IR rather than C, so that LLVM alone builds it.
target datalayout = "e-m:e-p:64:64-i64:64-i128:128-n32:64-S128"
target triple = "bpf"

@_license = global [4 x i8] c"GPL\00", section "license", align 1
@llvm.used = appending global [2 x i8*] [i8* getelementptr inbounds ([4 x i8], [4 x i8]* @_license, i32 0, i32 0), i8* bitcast (i32 (i8*)* @lose to i8*)], section "llvm.metadata"

define i32 @lose(i8* %skb) section "classifier" {
  %random = call i64 inttoptr (i64 7 to i64 ()*)()
  %low = and i64 %random, 4294967295
  %draw = urem i64 %low, 1000
  %drop = icmp ult i64 %draw, LOSS_PER_MILLE
  %verdict = select i1 %drop, i32 2, i32 0
  ret i32 %verdict
}
