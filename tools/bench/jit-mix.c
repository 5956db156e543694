// A mixed CPU guest for tools/bench/jit.mjs: qsort with a comparison callback, a sieve,
// crc32, string functions and calls through function pointers (811 M instructions).
//   riscv64-unknown-elf-gcc -march=rv32imac -mabi=ilp32 -O2 --specs=picolibc.specs --oslib=semihost \
//     --crt0=hosted -T tools/guests/link.ld -o /tmp/jit-mix.elf tools/bench/jit-mix.c
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
static uint32_t crc_table[256];
static void crc_init(void){ for(uint32_t i=0;i<256;i++){ uint32_t c=i; for(int k=0;k<8;k++) c = c&1 ? 0xEDB88320u^(c>>1) : c>>1; crc_table[i]=c; } }
static uint32_t crc32(const uint8_t*p, int n){ uint32_t c=~0u; while(n--) c = crc_table[(c^*p++)&0xff]^(c>>8); return ~c; }
static int cmp(const void*a,const void*b){ int32_t x=*(const int32_t*)a,y=*(const int32_t*)b; return (x>y)-(x<y); }
static int32_t arr[2000];
static uint8_t sieve[20000];
static char text[4096];
typedef uint32_t (*fn_t)(uint32_t);
static uint32_t f1(uint32_t x){ return x*3+1; }
static uint32_t f2(uint32_t x){ return x>>1 ^ x; }
static uint32_t f3(uint32_t x){ return x/7 + x%13; }
int main(void){
  crc_init();
  uint32_t seed=12345, acc=0;
  fn_t fns[3]={f1,f2,f3};
  for (int round=0; round<600; round++){
    for(int i=0;i<2000;i++){ seed=seed*1103515245u+12345u; arr[i]=(int32_t)seed; }
    qsort(arr,2000,sizeof arr[0],cmp);
    acc ^= (uint32_t)arr[round*7%2000];
    memset(sieve,1,sizeof sieve);
    int primes=0;
    for(int i=2;i<20000;i++) if(sieve[i]){ primes++; for(int j=i*2;j<20000;j+=i) sieve[j]=0; }
    acc += primes;
    for(int i=0;i<4095;i++) text[i]=(char)('a'+(seed>>(i&15))%26);
    text[4095]=0;
    acc ^= crc32((const uint8_t*)text, 4096);
    acc += strlen(text) + (strchr(text,'z')? 1:0);
    for(int i=0;i<30000;i++) acc = fns[(acc+i)%3](acc);
    uint64_t m = (uint64_t)acc * seed; acc ^= (uint32_t)(m>>32);
    int64_t sm = (int64_t)(int32_t)acc * (int32_t)seed; acc += (uint32_t)(sm>>32);
    acc += (uint32_t)((int32_t)acc / -3) + (uint32_t)((int32_t)acc % 5);
  }
  printf("acc=%u\n", acc);
  return 0;
}
