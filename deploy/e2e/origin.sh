# Sourced by the e2e suites: a plain nginx origin on loopback, serving DIR/www.
#   start_origin DIR PORT...   starts it in the foreground of a background job; sets nginx_pid
# DIR must be readable by nginx's workers (www-data): chmod 755 it.
start_origin() {
  local dir=$1 listens="" p
  shift
  for p in "$@"; do listens+="listen 127.0.0.1:$p; "; done
  mkdir -p "$dir/www" "$dir/nginx"
  cat > "$dir/nginx/nginx.conf" <<NGINX
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/nginx; proxy_temp_path $dir/nginx; fastcgi_temp_path $dir/nginx;
  uwsgi_temp_path $dir/nginx; scgi_temp_path $dir/nginx;
  server { $listens root $dir/www; }
}
NGINX
  nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx" &
  nginx_pid=$!
}
