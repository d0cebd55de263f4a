//! Shared helpers: servers on loopback port 0, test images, and calls in the page's shape.
#![allow(dead_code)]

use std::io::Cursor;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use flexedit_server::{Config, Server};
use image::{Rgba, RgbaImage};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A server running in this process until stopped or dropped.
pub struct Running {
    pub addr: SocketAddr,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Running {
    pub async fn start(config: Config) -> Self {
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), &config)
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        let url = server.url();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            url,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A proxy in front of this server (a simulator standing in for the provider), holding
    /// `key`, configured further by `tweak`.
    pub async fn proxy_in_front(&self, key: &str, tweak: impl FnOnce(&mut Config)) -> Running {
        let mut config = Config::proxy(None, url::Url::parse(&self.url).unwrap(), key);
        tweak(&mut config);
        Running::start(config).await
    }

    /// What this simulator received, from its test-mode request log.
    pub async fn requests_log(&self) -> Value {
        client()
            .get(self.at("/__simulator/requests"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Starts a graceful shutdown and waits for it to finish.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap(),
            None => Ok(()),
        }
    }

    /// Starts a graceful shutdown without waiting.
    pub fn begin_shutdown(&mut self) -> JoinHandle<std::io::Result<()>> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.take().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let picture = RgbaImage::from_fn(width, height, |x, y| {
        Rgba([(x * 255 / width) as u8, (y * 255 / height) as u8, 160, 255])
    });
    let mut bytes = Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, image::ImageFormat::Png)
        .unwrap();
    bytes.into_inner()
}

/// A PNG that does not compress: noise, so its size is about 3 bytes per pixel.
pub fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let mut state: u32 = 0x1234_5678;
    let picture = image::RgbImage::from_fn(width, height, |_, _| {
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        };
        image::Rgb([next(), next(), next()])
    });
    let mut bytes = Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, image::ImageFormat::Png)
        .unwrap();
    bytes.into_inner()
}

pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut bytes = Cursor::new(Vec::new());
    picture
        .write_to(&mut bytes, image::ImageFormat::Jpeg)
        .unwrap();
    bytes.into_inner()
}

pub fn asset_form(bytes: Vec<u8>, file_name: &str, mime: &str) -> Form {
    Form::new().part(
        "asset",
        Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .unwrap(),
    )
}

/// Uploads a PNG and returns the asset path.
pub async fn upload_png(base: &str, width: u32, height: u32) -> String {
    let response = client()
        .post(format!("{base}/api/assets"))
        .multipart(asset_form(png(width, height), "cat.png", "image/png"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    flexedit_api::parse_asset_upload(status, &body)
        .unwrap_or_else(|err| panic!("{status} {body}: {err}"))
        .into_string()
}

pub fn edit_body(image_url: &str, prompt: &str, extra: Value) -> String {
    let mut prompt_object = json!({"imageUrl": image_url, "prompt": prompt});
    if let (Some(object), Some(extra)) = (prompt_object.as_object_mut(), extra.as_object()) {
        for (key, value) in extra {
            object.insert(key.clone(), value.clone());
        }
    }
    json!({
        "type": "IMAGE_EDITOR",
        "model": "black-forest-labs/flux-2-flex",
        "promptObject": prompt_object,
    })
    .to_string()
}

pub async fn post_edit(base: &str, body: String) -> (u16, String) {
    let response = client()
        .post(format!("{base}/api/features"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// A folder for one test's files, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "flexedit-server-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A body of the contract's fixtures, kept once beside the contract crate's tests.
#[macro_export]
macro_rules! contract_fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../api/tests/fixtures/",
            $name
        ))
    };
}
