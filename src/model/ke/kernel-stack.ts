/**
 * The kernel-mode stack a thread has: "On x86-based platforms, the kernel-mode stack is 12K. On x64-based platforms,
 * the kernel-mode stack is 24K" ([DOC] "How do I keep my driver from running out of kernel-mode stack?",
 * KERNEL_STACK_SIZE in wdm.h). A notify routine runs on the stack of the thread that creates or exits; running past
 * its end touches the guard page below it: a double fault, bug check 0x7F with P1 = 8 (EXCEPTION_DOUBLE_FAULT).
 */
export const KERNEL_STACK_SIZE: Readonly<Record<'x86' | 'x64', number>> = { x86: 12 * 1024, x64: 24 * 1024 };
