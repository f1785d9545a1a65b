/*
 * protocol_ops: the spool protocol's file operations and syncs, without the router, to price
 * alternative protocols on one file system (research-grade; docs/spool.md, "What a message
 * costs on the disk"). It checks no return values: run it on a scratch directory.
 *
 *   gcc -O2 -o /tmp/protocol_ops benches/tools/protocol_ops.c
 *   /tmp/protocol_ops DIR MODE N [ID_OFFSET [WORK_NAME [PLAN_NAME]]]
 *
 * fills DIR/router/ with N files of 900 bytes (FILLONLY=1: only that; SKIPFILL=1: not that),
 * then routes them in batches of 64, each to two channels, with four syncfs per batch:
 *   MODE 0  today's: claim rename into work/, two staged files in work/ renamed into queue/
 *   MODE 1  outputs as O_TMPFILE in queue/<ch>/, published by linkat
 *   MODE 2  no claim rename (claimed in place), staged files renamed
 *   MODE 3  both
 * and prints msg/s and CPU per message. Two processes in one DIR (different ID_OFFSET and
 * PLAN_NAME, the same or different WORK_NAME) show the directories' lock contention.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <linux/fs.h>
static char buf[900];
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double cpu(){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec+t.tv_nsec/1e9;}
int main(int argc,char**argv){
  const char*root=argv[1]; int mode=atoi(argv[2]); int n=atoi(argv[3]); int off=argc>4?atoi(argv[4]):0; const char*wname=argc>5?argv[5]:"work"; const char*pname=argc>6?argv[6]:"plan";
  char p[512];
  memset(buf,'x',sizeof buf);
  const char* dirs[]={"router","work","queue","queue/a","queue/b"};
  for(int i=0;i<5;i++){snprintf(p,sizeof p,"%s/%s",root,dirs[i]);mkdir(p,0700);}
  if(getenv("FILLONLY")||!getenv("SKIPFILL"))for(int i=0;i<n;i++){snprintf(p,sizeof p,"%s/router/m%08d",root,i+off);int fd=open(p,O_CREAT|O_WRONLY|O_EXCL,0600);write(fd,buf,sizeof buf);close(fd);}
  sync(); if(getenv("FILLONLY")) return 0;
  int rfd=open(root,O_RDONLY|O_DIRECTORY);
  int dr,dw,da,db; snprintf(p,sizeof p,"%s/router",root);dr=open(p,O_RDONLY|O_DIRECTORY);
  snprintf(p,sizeof p,"%s/%s",root,wname);mkdir(p,0700);dw=open(p,O_RDONLY|O_DIRECTORY);
  snprintf(p,sizeof p,"%s/queue/a",root);da=open(p,O_RDONLY|O_DIRECTORY);
  snprintf(p,sizeof p,"%s/queue/b",root);db=open(p,O_RDONLY|O_DIRECTORY);
  double t0=now(),c0=cpu();
  char rb[4096];
  for(int b=0;b<n;b+=64){
    int e=b+64<n?b+64:n; int fds[64];
    for(int i=b;i<e;i++){char id[32];snprintf(id,sizeof id,"m%08d",i+off);
      int fd=openat(dr,id,O_RDONLY|O_NOFOLLOW|O_NONBLOCK);flock(fd,LOCK_EX|LOCK_NB);
      if(mode<2){renameat2(dr,id,dw,id,RENAME_NOREPLACE);}
      fds[i-b]=fd;}
    syncfs(rfd); // S1
    for(int i=b;i<e;i++){char id[32],s[64];snprintf(id,sizeof id,"m%08d",i+off);int fd=fds[i-b];read(fd,rb,sizeof rb);
      if(mode==0||mode==2){ // staged files in work/, renamed to queue later
        snprintf(s,sizeof s,"%s@a",id);int o=openat(dw,s,O_CREAT|O_EXCL|O_WRONLY,0600);write(o,rb,900);close(o);
        snprintf(s,sizeof s,"%s@b",id);o=openat(dw,s,O_CREAT|O_EXCL|O_WRONLY,0600);write(o,rb,900);close(o);
      }
    }
    syncfs(rfd); // S2
    int pf=openat(dw,pname,O_CREAT|O_EXCL|O_WRONLY,0600);write(pf,rb,64*40);close(pf);renameat(dw,pname,dw,pname);
    syncfs(rfd); // S3
    for(int i=b;i<e;i++){char id[32],s[64];snprintf(id,sizeof id,"m%08d",i+off);
      if(mode==0||mode==2){
        snprintf(s,sizeof s,"%s@a",id);renameat2(dw,s,da,id,RENAME_NOREPLACE);
        snprintf(s,sizeof s,"%s@b",id);renameat2(dw,s,db,id,RENAME_NOREPLACE);
      } else { // O_TMPFILE + linkat
        int o=openat(da,".",O_TMPFILE|O_WRONLY,0600);write(o,rb,900);snprintf(s,sizeof s,"/proc/self/fd/%d",o);linkat(AT_FDCWD,s,da,id,AT_SYMLINK_FOLLOW);close(o);
        o=openat(db,".",O_TMPFILE|O_WRONLY,0600);write(o,rb,900);snprintf(s,sizeof s,"/proc/self/fd/%d",o);linkat(AT_FDCWD,s,db,id,AT_SYMLINK_FOLLOW);close(o);
      }
      if(mode<2) unlinkat(dw,id,0); else unlinkat(dr,id,0);
    }
    syncfs(rfd); // S5
    unlinkat(dw,pname,0);
    for(int i=b;i<e;i++)close(fds[i-b]);
  }
  double t=now()-t0,c=cpu()-c0;
  printf("mode %d: %d msgs %.0f msg/s, cpu %.3f ms/msg\n",mode,n,n/t,c*1000/n);
}
