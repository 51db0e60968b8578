/*
 * Multiboot v1 entry for the cxl-tagmem test guest.
 *
 * QEMU's multiboot loader starts us in 32-bit protected mode, paging off,
 * EAX = 0x2BADB002, EBX = physical address of the multiboot info.  The CXL
 * fixed memory window lives above 4 GiB (0x110000000 for small -m), so we
 * switch to long mode with an identity map of the low 16 GiB in 2 MiB pages
 * and call kmain(magic, mbi) in 64-bit mode.
 *
 * The file is assembled as x86-64 code (the .code32 part is encoded as
 * 32-bit instructions); the Makefile converts the linked ELF64 image to
 * ELF32 because QEMU's multiboot loader refuses EM_X86_64 images.
 */

#define MB_MAGIC  0x1BADB002
#define MB_FLAGS  0x00000000
#define NPD       16            /* page directories: 16 x 1 GiB identity */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    cli
    movl %eax, %esi             /* keep magic and mbi across the setup */
    movl %ebx, %edi

    /* The loader zero-fills .bss, but do not depend on it. */
    cld
    movl $__bss_start, %ebx
1:  movl $0, (%ebx)
    addl $4, %ebx
    cmpl $__bss_end, %ebx
    jb 1b

    movl $stack_top, %esp

    /* PML4[0] -> PDPT */
    movl $pdpt, %eax
    orl $3, %eax
    movl %eax, pml4

    /* PDPT[i] -> PD[i], i < NPD */
    xorl %ecx, %ecx
2:  movl %ecx, %eax
    shll $12, %eax
    addl $pd, %eax
    orl $3, %eax
    movl %eax, pdpt(,%ecx,8)
    incl %ecx
    cmpl $NPD, %ecx
    jb 2b

    /* PD entry j maps the 2 MiB page j: present, writable, PS */
    xorl %ecx, %ecx
3:  movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, pd(,%ecx,8)
    movl %ecx, %eax
    shrl $11, %eax
    movl %eax, pd+4(,%ecx,8)
    incl %ecx
    cmpl $(NPD * 512), %ecx
    jb 3b

    movl $pml4, %eax
    movl %eax, %cr3
    movl %cr4, %eax
    orl $0x20, %eax             /* PAE */
    movl %eax, %cr4
    movl $0xC0000080, %ecx      /* EFER.LME */
    rdmsr
    orl $0x100, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80000001, %eax       /* PG | PE */
    movl %eax, %cr0

    lgdt gdt_ptr
    ljmp $0x08, $long_mode

    .code64
long_mode:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movw %ax, %fs
    movw %ax, %gs
    movq $stack_top, %rsp
    /* kmain(magic = esi, mbi = edi): already in the SysV argument registers */
    movl %edi, %eax
    movl %esi, %edi
    movl %eax, %esi
    call kmain
4:  hlt
    jmp 4b

    .section .rodata
    .align 8
gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10: data */
gdt_end:
gdt_ptr:
    .word gdt_end - gdt - 1
    .long gdt

    .section .bss
    .align 4096
pml4:   .skip 4096
pdpt:   .skip 4096
pd:     .skip 4096 * NPD
        .skip 65536
stack_top:
