/* Freestanding helpers for the cxl-tagmem test guest: port/MMIO access,
 * COM1 output, a tiny printf, rdtsc timing and isa-debug-exit. */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0,%1" :: "a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0,%1" :: "a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0,%1" :: "a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1,%0" : "=a"(v) : "Nd"(p)); return v; }

/* MMIO: volatile accesses of exactly the stated width (the CXL registers
 * care: HDM decoders take 4-byte writes only, the mailbox command register
 * only 8-byte writes). */
static inline uint32_t rd32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t rd64(uint64_t a) { return *(volatile uint64_t *)a; }
static inline void wr32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void wr64(uint64_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

void serial_init(void);
void kputs(const char *s);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);
/* Like snprintf: always NUL-terminates (size > 0), returns the full length. */
size_t ksnprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fmt_uuid(char out[37], const uint8_t *u);  /* canonical lower-case form */
void print_uuid(const uint8_t *u);
void print_fixed3(uint64_t milli);     /* prints milli/1000 with 3 decimals */

extern uint64_t tsc_khz;
void tsc_calibrate(void);
uint64_t tsc_ns(uint64_t cycles);
void delay_ms(uint64_t ms);

__attribute__((noreturn)) void qemu_exit(int code);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

#endif
